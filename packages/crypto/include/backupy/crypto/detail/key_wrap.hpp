#pragma once
// Internals of wrap_dek exposed for known-answer tests and the worked example in
// docs/formats/wrapped-dek-v1.md. Production code must use wrap_dek, which draws a fresh
// ephemeral key and nonce per wrap: reusing either would reuse a GCM nonce under one KEK.
#include <cstdint>
#include <span>
#include <string_view>

#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/key_wrap.hpp"

namespace backupy::crypto::detail {

Bytes wrap_dek_with(std::span<const std::uint8_t, 32> dek,
                    std::span<const std::uint8_t, kX25519KeySize> recipient_public,
                    std::string_view key_id,
                    std::span<const std::uint8_t, kX25519KeySize> ephemeral_private,
                    std::span<const std::uint8_t, 12> nonce);

}  // namespace backupy::crypto::detail
