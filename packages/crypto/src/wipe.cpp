#include <openssl/crypto.h>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {

void secure_wipe(std::span<std::uint8_t> data) {
  if (!data.empty()) OPENSSL_cleanse(data.data(), data.size());
}

}  // namespace backupy::crypto
