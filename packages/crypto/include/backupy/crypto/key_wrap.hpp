#pragma once
// Wrapping a run's data key (DEK) to the control plane's X25519 public key, so an agent can
// encrypt a backup while offline and only the control plane can recover the key.
// Format (docs/formats/wrapped-dek-v1.md), 93 bytes:
//
//   u8      version = 0x01
//   u8[32]  ephemeral X25519 public key E (a fresh key pair per wrap)
//   u8[12]  nonce (random)
//   u8[48]  AES-256-GCM(KEK, nonce, DEK, AAD) = 32-byte ciphertext || 16-byte tag
//
//   shared = X25519(e, R)             (R = the recipient's public key; all-zero → error)
//   KEK    = HKDF-SHA256(ikm = shared, salt = E || R, info = "backupy wrapped-dek v1", 32)
//   AAD    = "backupy wrapped-dek v1" || 0x00 || key_id
//
// key_id in the AAD binds the wrap to the published key id (BackupCompleted.dek_kms_id): a
// wrapped key relabelled with another id does not open.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {

inline constexpr std::size_t kX25519KeySize = 32;
inline constexpr std::size_t kWrappedDekSize = 93;

// The X25519 public key of private_key (any 32 bytes; X25519 clamps them), RFC 7748.
std::array<std::uint8_t, kX25519KeySize> x25519_public_key(
    std::span<const std::uint8_t, kX25519KeySize> private_key);

// Wraps dek to recipient_public under key_id (format above). Throws CryptoError if
// recipient_public is a low-order point (the shared secret would be all zeros).
Bytes wrap_dek(std::span<const std::uint8_t, 32> dek,
               std::span<const std::uint8_t, kX25519KeySize> recipient_public,
               std::string_view key_id);

// The DEK inside wrapped, or nullopt if wrapped is not 93 bytes, has another version, was
// made for another key or key id, or was altered. The caller wipes the returned key.
std::optional<std::array<std::uint8_t, 32>> unwrap_dek(
    std::span<const std::uint8_t> wrapped,
    std::span<const std::uint8_t, kX25519KeySize> recipient_private, std::string_view key_id);

}  // namespace backupy::crypto
