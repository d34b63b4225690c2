#include "secrets_codec.hpp"

#include <gtest/gtest.h>

namespace backupy::state::detail {
namespace {

TEST(SecretsCodecTest, RoundTrips) {
  const SecretList secrets = {{"db-1", "hunter2"}, {"", std::string("nul\0inside", 10)}, {"x", ""}};
  EXPECT_EQ(decode_secrets(encode_secrets(secrets)), secrets);
  EXPECT_EQ(decode_secrets(encode_secrets({})), SecretList{});
}

TEST(SecretsCodecTest, RejectsMalformedInput) {
  auto bytes = encode_secrets({{"db-1", "hunter2"}});
  EXPECT_FALSE(decode_secrets({}).has_value());
  auto truncated = bytes;
  truncated.pop_back();
  EXPECT_FALSE(decode_secrets(truncated).has_value());
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(decode_secrets(trailing).has_value());
  // A huge count with no data must fail fast, not allocate.
  EXPECT_FALSE(decode_secrets({0xff, 0xff, 0xff, 0xff}).has_value());
  // A length field pointing past the end.
  EXPECT_FALSE(decode_secrets({1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}).has_value());
}

}  // namespace
}  // namespace backupy::state::detail
