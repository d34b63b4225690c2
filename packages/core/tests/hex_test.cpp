#include "backupy/core/hex.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(HexTest, RoundTrips) {
  const std::vector<std::uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(to_hex(bytes), "007f80ff");
  EXPECT_EQ(from_hex("007F80ff"), bytes);
}

TEST(HexTest, RejectsOddLengthAndNonHex) {
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
  EXPECT_EQ(from_hex("")->size(), 0u);
}

}  // namespace
}  // namespace backupy::core
