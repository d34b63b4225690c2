#include "backupy/core/ascii.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(Ascii, LowersOnlyAsciiLetters) {
  EXPECT_EQ(ascii_lower("Content-Type: X-AMZ"), "content-type: x-amz");
  EXPECT_EQ(ascii_lower("\xC3\x89t\xC3\xA9"), "\xC3\x89t\xC3\xA9");  // UTF-8 bytes untouched
}

TEST(Ascii, TrimsSpacesAndTabsOnly) {
  EXPECT_EQ(trim_blanks(" \t etag \t"), "etag");
  EXPECT_EQ(trim_blanks("\nx\n"), "\nx\n");
  EXPECT_EQ(trim_blanks("   "), "");
}

}  // namespace
}  // namespace backupy::core
