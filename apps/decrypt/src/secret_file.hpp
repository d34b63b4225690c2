#pragma once
// Reading the small files that hold a key or a token.
#include <cstddef>
#include <string>

#include "backupy/crypto/crypto.hpp"

namespace backupy::decrypt {

// Text that is wiped when it goes away (file contents holding a key).
struct SecretText {
  std::string text;

  SecretText() = default;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  ~SecretText() {
    crypto::secure_wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  }
};

// Reads all of path, which may be a regular file or a pipe (<(...)) but not a
// directory. what names the file in errors ("key file", "token file"). Throws
// Failure if it cannot be read or holds more than max_bytes (so that
// --key-file /dev/zero fails instead of filling memory).
void read_secret_file(const std::string& path, const char* what, std::size_t max_bytes,
                      SecretText& out);

}  // namespace backupy::decrypt
