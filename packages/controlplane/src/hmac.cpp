#include "hmac.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace backupy::controlplane::detail {

Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Digest out{};
  unsigned int length = 0;
  // HMAC() with a null key pointer would mean "no key": pass a valid pointer for empty keys.
  static const std::uint8_t kEmpty = 0;
  if (HMAC(EVP_sha256(), key.empty() ? &kEmpty : key.data(), static_cast<int>(key.size()),
           data.data(), data.size(), out.data(), &length) == nullptr ||
      length != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
  return hmac_sha256(key,
                     std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

}  // namespace backupy::controlplane::detail
