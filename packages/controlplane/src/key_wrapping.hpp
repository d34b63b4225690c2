#pragma once
// The control plane's key-wrapping key pair (private to the package; agent_cron.v1).
//
// Agents that schedule their own runs wrap each run's DEK to the public key published in every
// AgentConfig (key_wrapping = {key_id, x25519_public_key}); the server unwraps it with the
// private key (docs/formats/wrapped-dek-v1.md). The pair is derived from the catalog's master
// key, never stored:
//   private = HKDF-SHA256(master key, salt "backupy-control-plane/key-wrapping/v1",
//                         info "x25519", 32)
//   key_id  = "x25519-" + first 16 lowercase hex of SHA-256(public key)
// so it is stable across restarts and changes with the master key (the key id then changes
// too, and wraps made to the old key are refused by id before any decryption).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "backupy/controlplane/server_config.hpp"
#include "backupy/crypto/key_wrap.hpp"

namespace backupy::controlplane::detail {

class KeyWrappingKey {
 public:
  explicit KeyWrappingKey(std::string_view master_key);
  ~KeyWrappingKey();  // wipes the private key
  KeyWrappingKey(const KeyWrappingKey&) = delete;
  KeyWrappingKey& operator=(const KeyWrappingKey&) = delete;

  const std::string& key_id() const { return key_id_; }
  const std::array<std::uint8_t, crypto::kX25519KeySize>& public_key() const { return public_; }
  // The DEK inside wrapped (made for key_id()), or nullopt. The caller wipes it.
  std::optional<std::array<std::uint8_t, 32>> unwrap(std::span<const std::uint8_t> wrapped) const;

 private:
  std::array<std::uint8_t, crypto::kX25519KeySize> private_{};
  std::array<std::uint8_t, crypto::kX25519KeySize> public_{};
  std::string key_id_;
};

// The AgentConfig as sent to an agent: its configured one plus what the server adds for
// agent-side scheduling (key_wrapping when the server has a key, advanced.schedule_jitter_sec
// from scheduling.jitter_sec).
backup::v1::AgentConfig published_config(const backup::v1::AgentConfig& configured,
                                         const ServerConfig& config, const KeyWrappingKey* key);

}  // namespace backupy::controlplane::detail
