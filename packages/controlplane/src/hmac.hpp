#pragma once
// HMAC-SHA256 (private to the package): SigV4 key derivation and HS256 JWT signatures.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace backupy::controlplane::detail {

using Digest = std::array<std::uint8_t, 32>;

Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);

}  // namespace backupy::controlplane::detail
