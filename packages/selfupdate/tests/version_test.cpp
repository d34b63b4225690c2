#include "backupy/selfupdate/version.hpp"

#include <gtest/gtest.h>

namespace backupy::selfupdate {
namespace {

struct Case {
  const char* a;
  const char* b;
  int expected;  // sign
};

int sign_of(int value) {
  return value < 0 ? -1 : (value > 0 ? 1 : 0);
}

TEST(VersionTest, OrdersBySemverPrecedence) {
  const Case cases[] = {
      {"1.2.3", "1.2.3", 0},
      {"1.2.3", "1.2.4", -1},
      {"1.10.0", "1.9.9", 1},
      {"2.0.0", "10.0.0", -1},
      {"0.1.0", "0.0.99", 1},
      {"v1.2.3", "1.2.3", 0},
      {"v1.2.4", "v1.2.3", 1},
      {"1.2.3-rc.1", "1.2.3", -1},
      {"1.2.3", "1.2.3-rc.1", 1},
      {"1.2.3-rc.1", "1.2.3-rc.2", -1},
      {"1.2.3-rc.2", "1.2.3-rc.10", -1},
      {"1.2.3-rc.1", "1.2.3-rc.1", 0},
      {"1.2.3-alpha", "1.2.3-alpha.1", -1},
      {"1.2.3-alpha.1", "1.2.3-alpha.beta", -1},
      {"1.2.3-alpha.beta", "1.2.3-beta", -1},
      {"1.2.3-beta.11", "1.2.3-rc.1", -1},
      {"1.2.3-1", "1.2.3-alpha", -1},
      {"1.2.3-rc.1", "1.2.2", 1},
      {"1.2.3+build.5", "1.2.3+other", 0},
      {"1.2.3-rc.1+b", "1.2.3-rc.1", 0},
  };
  for (const Case& c : cases) {
    const std::optional<int> order = compare_versions(c.a, c.b);
    ASSERT_TRUE(order) << c.a << " vs " << c.b;
    EXPECT_EQ(sign_of(*order), c.expected) << c.a << " vs " << c.b;
    const std::optional<int> reverse = compare_versions(c.b, c.a);
    ASSERT_TRUE(reverse);
    EXPECT_EQ(sign_of(*reverse), -c.expected) << c.b << " vs " << c.a;
  }
}

TEST(VersionTest, RefusesUnparsableVersions) {
  for (const char* bad : {"",
                          "v",
                          "1",
                          "1.2",
                          "1.2.3.4",
                          "1.2.x",
                          "01.2.3",
                          "1.02.3",
                          "1.2.3-",
                          "1.2.3-rc..1",
                          "1.2.3-rc.01",
                          "1.2.3-r_c",
                          "V1.2.3",
                          " 1.2.3",
                          "1.2.3 ",
                          "1.2.3+",
                          "-1.2.3",
                          "1.-2.3",
                          "1.2.3-rc+",
                          "vv1.2.3",
                          "1234567890123456789.0.0"}) {
    EXPECT_FALSE(compare_versions(bad, "1.2.3")) << '"' << bad << '"';
    EXPECT_FALSE(compare_versions("1.2.3", bad)) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace backupy::selfupdate
