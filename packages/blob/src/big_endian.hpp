#pragma once
// The format's only integer: frame_len, a big-endian u32.
#include <array>
#include <cstdint>
#include <span>

namespace backupy::blob::detail {

inline std::array<std::uint8_t, 4> encode_u32_be(std::uint32_t value) {
  return {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
          static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
}

inline std::uint32_t decode_u32_be(std::span<const std::uint8_t, 4> bytes) {
  return static_cast<std::uint32_t>(bytes[0]) << 24 | static_cast<std::uint32_t>(bytes[1]) << 16 |
         static_cast<std::uint32_t>(bytes[2]) << 8 | static_cast<std::uint32_t>(bytes[3]);
}

}  // namespace backupy::blob::detail
