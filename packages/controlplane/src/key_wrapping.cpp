#include "key_wrapping.hpp"

#include <algorithm>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::controlplane::detail {
namespace {

// A key for this purpose only: the master key also seals the catalog's DEKs (another salt).
constexpr std::string_view kSalt = "backupy-control-plane/key-wrapping/v1";
constexpr std::string_view kInfo = "x25519";

}  // namespace

KeyWrappingKey::KeyWrappingKey(std::string_view master_key) {
  crypto::Bytes okm = crypto::hkdf_sha256(crypto::as_bytes(master_key), crypto::as_bytes(kSalt),
                                          crypto::as_bytes(kInfo), private_.size());
  std::copy(okm.begin(), okm.end(), private_.begin());
  crypto::secure_wipe(okm);
  public_ = crypto::x25519_public_key(private_);
  const std::array<std::uint8_t, 32> digest = crypto::sha256(public_);
  key_id_ = "x25519-" + core::to_hex(std::span(digest).first(8));
}

KeyWrappingKey::~KeyWrappingKey() {
  crypto::secure_wipe(private_);
}

std::optional<std::array<std::uint8_t, 32>> KeyWrappingKey::unwrap(
    std::span<const std::uint8_t> wrapped) const {
  return crypto::unwrap_dek(wrapped, private_, key_id_);
}

backup::v1::AgentConfig published_config(const backup::v1::AgentConfig& configured,
                                         const ServerConfig& config, const KeyWrappingKey* key) {
  backup::v1::AgentConfig out = configured;
  if (key != nullptr) {
    backup::v1::KeyWrappingKey* published = out.mutable_key_wrapping();
    published->set_key_id(key->key_id());
    published->set_x25519_public_key(key->public_key().data(), key->public_key().size());
  }
  if (config.scheduling.jitter_sec > 0) {
    out.mutable_advanced()->set_schedule_jitter_sec(config.scheduling.jitter_sec);
  }
  return out;
}

}  // namespace backupy::controlplane::detail
