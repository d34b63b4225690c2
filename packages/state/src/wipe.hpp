#pragma once
// Wiping plaintext secrets out of memory once they are no longer needed:
// clear() or destruction alone leaves the bytes in freed buffers.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backupy/crypto/crypto.hpp"

namespace backupy::state::detail {

inline void wipe(std::string& text) {
  crypto::secure_wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  text.clear();
}

inline void wipe(crypto::Bytes& bytes) {
  crypto::secure_wipe(bytes);
  bytes.clear();
}

// A list of (name, secret) pairs, e.g. detail::SecretList.
inline void wipe(std::vector<std::pair<std::string, std::string>>& pairs) {
  for (auto& [name, secret] : pairs) wipe(secret);
}

// Wipes a plaintext buffer on every way out of a scope, exceptions included.
template <typename T>
class WipeOnExit {
 public:
  explicit WipeOnExit(T& target) : target_(target) {}
  ~WipeOnExit() { wipe(target_); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  T& target_;
};

}  // namespace backupy::state::detail
