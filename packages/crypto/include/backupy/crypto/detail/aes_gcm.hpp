#pragma once
// Internals of AES-256-GCM exposed for known-answer tests. Production code
// must use aes256gcm_seal, which always draws a fresh random nonce: reusing a
// nonce under one key breaks GCM completely.
#include <cstddef>
#include <cstdint>
#include <span>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto::detail {

inline constexpr std::size_t kGcmKeySize = 32;
inline constexpr std::size_t kGcmNonceSize = 12;
inline constexpr std::size_t kGcmTagSize = 16;

// Same layout as aes256gcm_seal: nonce(12) || ciphertext || tag(16).
Bytes aes256gcm_seal_with_nonce(std::span<const std::uint8_t> key,
                                std::span<const std::uint8_t> nonce,
                                std::span<const std::uint8_t> plaintext,
                                std::span<const std::uint8_t> aad);

}  // namespace backupy::crypto::detail
