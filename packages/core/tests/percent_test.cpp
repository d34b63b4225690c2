#include "backupy/core/percent.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(Percent, EncodesAllButUnreservedWithUpperCaseHex) {
  EXPECT_EQ(percent_encode("a b+c%d/~_-."), "a%20b%2Bc%25d%2F~_-.");
  EXPECT_EQ(percent_encode("\xC3\xA9=&?#"), "%C3%A9%3D%26%3F%23");
  EXPECT_EQ(percent_encode("agents/a/b/r.bkpy", true), "agents/a/b/r.bkpy");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(Percent, DecodesEitherCaseAndRefusesBrokenEscapes) {
  EXPECT_EQ(percent_decode("p%40ss%2fx%2F"), "p@ss/x/");
  EXPECT_EQ(percent_decode("plain"), "plain");
  EXPECT_FALSE(percent_decode("a%2").has_value());
  EXPECT_FALSE(percent_decode("a%zz").has_value());
  EXPECT_FALSE(percent_decode("%").has_value());
}

TEST(Percent, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

}  // namespace
}  // namespace backupy::core
