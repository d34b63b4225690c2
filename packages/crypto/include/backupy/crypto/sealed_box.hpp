#pragma once
// Secrets at rest in a database: AES-256-GCM under a key derived with HKDF-SHA256 from a
// long-lived secret (the agent key, the control plane's master key). Each store derives its
// own key (a distinct salt/info), so a blob of one store never opens as another's. The AAD
// names what a blob belongs to (a config version, a run id), so a blob copied to another row
// fails to open instead of handing out the wrong secret.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {

using SealingKey = std::array<std::uint8_t, 32>;

// HKDF-SHA256(secret, salt, info). Wipe the result (secure_wipe) when done with it.
SealingKey derive_sealing_key(std::string_view secret, std::string_view salt,
                              std::string_view info);

// nonce || ciphertext || tag, as a string ready for a SQLite blob.
std::string seal(const SealingKey& key, std::span<const std::uint8_t> plaintext,
                 std::string_view aad);
// nullopt if the blob was sealed under another key or AAD, or is damaged.
std::optional<Bytes> unseal(const SealingKey& key, std::string_view sealed, std::string_view aad);

}  // namespace backupy::crypto
