#include "backupy/crypto/sealed_box.hpp"

#include <algorithm>

namespace backupy::crypto {

SealingKey derive_sealing_key(std::string_view secret, std::string_view salt,
                              std::string_view info) {
  SealingKey key{};
  Bytes okm = hkdf_sha256(as_bytes(secret), as_bytes(salt), as_bytes(info), key.size());
  std::copy(okm.begin(), okm.end(), key.begin());
  secure_wipe(okm);
  return key;
}

std::string seal(const SealingKey& key, std::span<const std::uint8_t> plaintext,
                 std::string_view aad) {
  const Bytes sealed = aes256gcm_seal(key, plaintext, as_bytes(aad));
  return {sealed.begin(), sealed.end()};
}

std::optional<Bytes> unseal(const SealingKey& key, std::string_view sealed, std::string_view aad) {
  return aes256gcm_open(key, as_bytes(sealed), as_bytes(aad));
}

}  // namespace backupy::crypto
