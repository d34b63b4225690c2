#pragma once
// Hex literals for known-answer vectors; a malformed literal is a test bug.
#include <stdexcept>
#include <string_view>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto::testing {

inline Bytes hex(std::string_view text) {
  auto bytes = core::from_hex(text);
  if (!bytes) throw std::invalid_argument("bad hex literal in test");
  return *bytes;
}

}  // namespace backupy::crypto::testing
