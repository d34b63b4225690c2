#include "sealed_box.hpp"

#include <algorithm>

namespace backupy::state::detail {
namespace {

constexpr std::string_view kSalt = "backupy-agent/state/v1";

}  // namespace

SealingKey derive_sealing_key(std::string_view agent_key, std::string_view info) {
  SealingKey key{};
  crypto::Bytes okm = crypto::hkdf_sha256(crypto::as_bytes(agent_key), crypto::as_bytes(kSalt),
                                          crypto::as_bytes(info), key.size());
  std::copy(okm.begin(), okm.end(), key.begin());
  crypto::secure_wipe(okm);
  return key;
}

std::string seal(const SealingKey& key, std::span<const std::uint8_t> plaintext,
                 std::string_view aad) {
  const crypto::Bytes sealed = crypto::aes256gcm_seal(key, plaintext, crypto::as_bytes(aad));
  return {sealed.begin(), sealed.end()};
}

std::optional<crypto::Bytes> unseal(const SealingKey& key, std::string_view sealed,
                                    std::string_view aad) {
  return crypto::aes256gcm_open(key, crypto::as_bytes(sealed), crypto::as_bytes(aad));
}

}  // namespace backupy::state::detail
