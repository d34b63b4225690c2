#pragma once
// A 32-byte data encryption key (DEK) that wipes itself: every copy is
// overwritten when it goes away, so keys do not linger in freed memory.
// Deliberately not printable.
#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "backupy/crypto/crypto.hpp"

namespace backupy::token {

class DataKey {
 public:
  static constexpr std::size_t kSize = 32;

  DataKey() = default;  // all zero
  explicit DataKey(std::span<const std::uint8_t, kSize> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
  }
  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey() { crypto::secure_wipe(bytes_); }

  std::span<const std::uint8_t, kSize> bytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

}  // namespace backupy::token
