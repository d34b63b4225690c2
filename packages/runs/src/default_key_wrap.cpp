#include "default_key_wrap.hpp"

#include <stdexcept>
#include <string>

#include "backupy/crypto/key_wrap.hpp"

namespace backupy::runs::detail {

std::vector<std::uint8_t> default_wrap_dek(std::span<const std::uint8_t, 32> dek,
                                           const backup::v1::KeyWrappingKey& key) {
  const std::string& public_key = key.x25519_public_key();
  if (public_key.size() != crypto::kX25519KeySize) {
    throw std::invalid_argument("the key-wrapping key has " + std::to_string(public_key.size()) +
                                " bytes; X25519 public keys have 32");
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(public_key.data());
  return crypto::wrap_dek(dek, std::span<const std::uint8_t, crypto::kX25519KeySize>(bytes, 32),
                          key.key_id());
}

}  // namespace backupy::runs::detail
