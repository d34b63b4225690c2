#include "backupy/core/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace backupy::core {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

TEST(Base64Url, DecodesRfc4648Vectors) {
  // RFC 4648 section 10, without padding.
  EXPECT_EQ(decode_base64url(""), Bytes{});
  EXPECT_EQ(decode_base64url("Zg"), bytes_of("f"));
  EXPECT_EQ(decode_base64url("Zm8"), bytes_of("fo"));
  EXPECT_EQ(decode_base64url("Zm9v"), bytes_of("foo"));
  EXPECT_EQ(decode_base64url("Zm9vYg"), bytes_of("foob"));
  EXPECT_EQ(decode_base64url("Zm9vYmE"), bytes_of("fooba"));
  EXPECT_EQ(decode_base64url("Zm9vYmFy"), bytes_of("foobar"));
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  EXPECT_EQ(decode_base64url("-_8"), (Bytes{0xFB, 0xFF}));
  EXPECT_FALSE(decode_base64url("+/8"));
}

TEST(Base64Url, RejectsPaddingBadCharactersAndImpossibleLengths) {
  EXPECT_FALSE(decode_base64url("Zg=="));
  EXPECT_FALSE(decode_base64url("Zm9v YmFy"));
  EXPECT_FALSE(decode_base64url("Z"));
  EXPECT_FALSE(decode_base64url("Zm9vY"));
}

TEST(Base64Standard, DecodesPaddedText) {
  EXPECT_EQ(decode_base64(""), Bytes{});
  EXPECT_EQ(decode_base64("Zg=="), bytes_of("f"));
  EXPECT_EQ(decode_base64("Zm8="), bytes_of("fo"));
  EXPECT_EQ(decode_base64("Zm9vYmFy"), bytes_of("foobar"));
  EXPECT_EQ(decode_base64("+/8="), (Bytes{0xFB, 0xFF}));
}

TEST(Base64Standard, RejectsMissingOrMisplacedPaddingAndTheUrlAlphabet) {
  EXPECT_FALSE(decode_base64("Zg"));
  EXPECT_FALSE(decode_base64("Zm8"));
  EXPECT_FALSE(decode_base64("Zg=a"));
  EXPECT_FALSE(decode_base64("Z==="));
  EXPECT_FALSE(decode_base64("===="));
  EXPECT_FALSE(decode_base64("Zg==Zg=="));
  EXPECT_FALSE(decode_base64("-_8="));
}

}  // namespace
}  // namespace backupy::core
