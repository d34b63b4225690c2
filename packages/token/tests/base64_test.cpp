// The test encoders of backupy::token_testing (which build the tokens of the token tests) and
// the decoders of backupy::core agree; the decoders themselves: packages/core/tests.
#include "backupy/core/base64.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "backupy/token/testing/jwt_builder.hpp"

namespace backupy::token {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(Base64, AgreesWithTheTestEncoderForEveryLength) {
  Bytes data;
  for (int size = 0; size < 70; ++size) {
    EXPECT_EQ(core::decode_base64(testing::base64(data)), data) << size;
    const std::string text(data.begin(), data.end());
    EXPECT_EQ(core::decode_base64url(testing::base64url(text)), data) << size;
    data.push_back(static_cast<std::uint8_t>(size * 37 + 200));
  }
}

}  // namespace
}  // namespace backupy::token
