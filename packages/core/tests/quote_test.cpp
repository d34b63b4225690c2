#include "backupy/core/quote.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(QuoteTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(escape_for_message("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escape_for_message(std::string("x\ny\x7f", 4)), "x\\x0ay\\x7f");
  EXPECT_EQ(quoted("25"), "\"25\"");
  EXPECT_EQ(quoted(""), "\"\"");
}

}  // namespace
}  // namespace backupy::core
