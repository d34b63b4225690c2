#pragma once
// Secrets at rest in the state database: AES-256-GCM under a key derived from
// the agent key with HKDF-SHA256 (salt "backupy-agent/state/v1"). Each store
// derives its own key (a distinct HKDF info), so a blob of one store never
// opens as another's. The AAD names what a blob belongs to (a config version,
// a run id), so a blob copied to another row fails to open instead of
// handing out the wrong secret.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backupy/crypto/crypto.hpp"

namespace backupy::state::detail {

using SealingKey = std::array<std::uint8_t, 32>;

// HKDF-SHA256(agent_key, salt "backupy-agent/state/v1", info). Wipe the result
// (crypto::secure_wipe) when done with it.
SealingKey derive_sealing_key(std::string_view agent_key, std::string_view info);

// nonce || ciphertext || tag, as a string ready for Statement::bind_blob.
std::string seal(const SealingKey& key, std::span<const std::uint8_t> plaintext,
                 std::string_view aad);
// nullopt if the blob was sealed under another key or AAD, or is damaged.
std::optional<crypto::Bytes> unseal(const SealingKey& key, std::string_view sealed,
                                    std::string_view aad);

}  // namespace backupy::state::detail
