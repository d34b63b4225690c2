#include "backupy/core/human_bytes.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(HumanBytes, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(12 * 1024 * 1024 + 1), "12.0 MiB");
  EXPECT_EQ(human_bytes(3ULL << 29), "1.5 GiB");
  EXPECT_EQ(human_bytes(UINT64_MAX), "16384.0 PiB");
}

}  // namespace
}  // namespace backupy::core
