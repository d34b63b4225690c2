#include <gtest/gtest.h>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "test_hex.hpp"

namespace backupy::crypto {
namespace {

using testing::hex;

Bytes range(int first, int last) {
  Bytes out;
  for (int b = first; b <= last; ++b) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

// RFC 5869 appendix A.1: basic test case with SHA-256.
TEST(HkdfTest, Rfc5869Case1) {
  const Bytes ikm(22, 0x0b);
  const Bytes okm = hkdf_sha256(ikm, range(0x00, 0x0c), range(0xf0, 0xf9), 42);
  EXPECT_EQ(core::to_hex(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// A.2: longer inputs and outputs.
TEST(HkdfTest, Rfc5869Case2) {
  const Bytes okm = hkdf_sha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
  EXPECT_EQ(core::to_hex(okm),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// A.3: zero-length salt and info.
TEST(HkdfTest, Rfc5869Case3) {
  const Bytes ikm(22, 0x0b);
  const Bytes okm = hkdf_sha256(ikm, {}, {}, 42);
  EXPECT_EQ(core::to_hex(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, EmptyIkmIsAccepted) {
  EXPECT_EQ(hkdf_sha256({}, as_bytes("salt"), as_bytes("info"), 32).size(), 32u);
}

TEST(HkdfTest, RejectsImpossibleLengths) {
  const Bytes ikm(32, 1);
  EXPECT_THROW(hkdf_sha256(ikm, {}, {}, 0), CryptoError);
  EXPECT_THROW(hkdf_sha256(ikm, {}, {}, 255 * 32 + 1), CryptoError);
  EXPECT_EQ(hkdf_sha256(ikm, {}, {}, 255 * 32).size(), 255u * 32u);
}

}  // namespace
}  // namespace backupy::crypto
