#pragma once
// RunManagerOptions::wrap_dek's default: crypto::wrap_dek to the published key.
#include <cstdint>
#include <span>
#include <vector>

#include "backup/v1/agent.pb.h"

namespace backupy::runs::detail {

// Throws (CryptoError, std::invalid_argument) if the key is not a usable X25519 public key.
std::vector<std::uint8_t> default_wrap_dek(std::span<const std::uint8_t, 32> dek,
                                           const backup::v1::KeyWrappingKey& key);

}  // namespace backupy::runs::detail
