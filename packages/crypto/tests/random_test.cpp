#include <gtest/gtest.h>

#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {
namespace {

TEST(RandomTest, ReturnsRequestedSizes) {
  EXPECT_TRUE(random_bytes(0).empty());
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(12).size(), 12u);
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_EQ(random_bytes(100000).size(), 100000u);
}

TEST(RandomTest, TwoCallsDiffer) {
  // 2^-256 chance of a false failure.
  EXPECT_NE(random_bytes(32), random_bytes(32));
}

}  // namespace
}  // namespace backupy::crypto
