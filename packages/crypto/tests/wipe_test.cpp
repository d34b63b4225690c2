#include <gtest/gtest.h>

#include <algorithm>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {
namespace {

TEST(WipeTest, ZeroesTheWholeBuffer) {
  Bytes secret = random_bytes(64);
  secret[0] = 0xAA;  // at least one byte is certainly non-zero
  secure_wipe(secret);
  EXPECT_TRUE(std::all_of(secret.begin(), secret.end(), [](std::uint8_t b) { return b == 0; }));
  secure_wipe({});  // empty span is a no-op
}

}  // namespace
}  // namespace backupy::crypto
