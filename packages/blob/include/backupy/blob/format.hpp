#pragma once
// Constants of the encrypted blob format v1 (docs/formats/encrypted-blob-v1.md).
// They are fixed by the v1 contract: existing servers and restore tools read
// exactly this layout, so none of them is a tuning knob.
#include <cstddef>
#include <cstdint>

namespace backupy::blob {

inline constexpr std::size_t kChunkSize = 1'048'576;  // plaintext per full frame (1 MiB)
inline constexpr std::size_t kLengthSize = 4;         // u32 big-endian frame_len
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kKeySize = 32;  // AES-256

// frame_len counts the bytes after the length field: nonce || ciphertext || tag.
inline constexpr std::uint32_t kMinFrameLen = kNonceSize + kTagSize;               // 28
inline constexpr std::uint32_t kMaxFrameLen = kNonceSize + kChunkSize + kTagSize;  // 1,048,604

// Size of the blob that encrypts plaintext_len bytes:
// L + 32 * ceil(L / 2^20) + 4 (per frame: length, nonce and tag; then the
// terminator). Overflows only for plaintexts within 2^50 bytes of 2^64.
constexpr std::uint64_t blob_size(std::uint64_t plaintext_len) {
  const std::uint64_t frames = plaintext_len / kChunkSize + (plaintext_len % kChunkSize != 0);
  return plaintext_len + frames * (kLengthSize + kNonceSize + kTagSize) + kLengthSize;
}

}  // namespace backupy::blob
