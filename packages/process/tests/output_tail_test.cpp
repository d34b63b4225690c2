#include "backupy/process/output_tail.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace backupy::process {
namespace {

const std::string kEllipsis = "\xE2\x80\xA6";

void append(OutputTail& tail, std::string_view text) {
  tail.append(std::span<const char>(text.data(), text.size()));
}

TEST(OutputTailTest, KeepsEverythingUnderCapacity) {
  OutputTail tail(64);
  EXPECT_TRUE(tail.empty());
  EXPECT_EQ(tail.text(), "");
  append(tail, "hello ");
  append(tail, "world\n");
  EXPECT_FALSE(tail.empty());
  EXPECT_EQ(tail.text(), "hello world");
  EXPECT_EQ(tail.total_bytes(), 12u);
}

TEST(OutputTailTest, KeepsTheNewestBytesAndMarksTheCut) {
  OutputTail tail(10);
  append(tail, "0123456789abcdef");
  EXPECT_EQ(tail.text(), kEllipsis + "6789abcdef");
  EXPECT_EQ(tail.total_bytes(), 16u);
}

TEST(OutputTailTest, ManySmallAppendsKeepTheNewest) {
  OutputTail tail(8);
  for (char c = 'a'; c <= 'z'; ++c) tail.append(std::span<const char>(&c, 1));
  EXPECT_EQ(tail.text(), kEllipsis + "stuvwxyz");
  EXPECT_EQ(tail.total_bytes(), 26u);
}

TEST(OutputTailTest, CutStartsAtALineWhenOneIsNear) {
  OutputTail tail(13);
  append(tail, "first line\nsecond line\nthird line\n");
  // Kept: "e\nthird line\n"; the partial first line goes.
  EXPECT_EQ(tail.text(), kEllipsis + "third line");
}

TEST(OutputTailTest, CutKeepsALongLastLine) {
  OutputTail tail(12);
  append(tail, "a\nxxxxxxxxxxxxxxxxxxxxxxxxx end");
  EXPECT_EQ(tail.text(), kEllipsis + "xxxxxxxx end");
}

TEST(OutputTailTest, CutNeverSplitsACharacter) {
  OutputTail tail(5);
  append(tail, "ab\xC3\xA9\xC3\xA9\xC3\xA9");  // "abééé"; the cut lands inside the first é
  EXPECT_EQ(tail.text(), kEllipsis + "\xC3\xA9\xC3\xA9");
}

TEST(OutputTailTest, InvalidUtf8BecomesQuestionMarks) {
  OutputTail tail(64);
  append(tail, "ok\xFF\xFE bad \xC0\xAF overlong \xED\xA0\x80 surrogate \xF0\x9F\x98\x80 \xE2\x82");
  EXPECT_EQ(tail.text(), "ok?? bad ?? overlong ??? surrogate \xF0\x9F\x98\x80 ??");
}

TEST(OutputTailTest, TrailingWhitespaceIsTrimmed) {
  OutputTail tail(64);
  append(tail, "  error: disk full \r\n\n\t ");
  EXPECT_EQ(tail.text(), "  error: disk full");
}

TEST(OutputTailTest, AppendLargerThanCapacity) {
  OutputTail tail(4);
  append(tail, "ab");
  append(tail, "0123456789");
  EXPECT_EQ(tail.text(), kEllipsis + "6789");
  EXPECT_EQ(tail.total_bytes(), 12u);
}

}  // namespace
}  // namespace backupy::process
