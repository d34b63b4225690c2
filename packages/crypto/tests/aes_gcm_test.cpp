#include "backupy/crypto/detail/aes_gcm.hpp"

#include <gtest/gtest.h>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "test_hex.hpp"

namespace backupy::crypto {
namespace {

using testing::hex;

constexpr std::size_t kOverhead = detail::kGcmNonceSize + detail::kGcmTagSize;

Bytes bytes_of(std::string_view text) {
  const auto span = as_bytes(text);
  return Bytes(span.begin(), span.end());
}

class AesGcmTest : public ::testing::Test {
 protected:
  const Bytes key_ = random_bytes(32);
  const Bytes plain_ = bytes_of("the password is hunter2");
  const Bytes aad_ = bytes_of("v42");
};

TEST_F(AesGcmTest, RoundTrip) {
  const Bytes sealed = aes256gcm_seal(key_, plain_, aad_);
  ASSERT_EQ(sealed.size(), plain_.size() + kOverhead);
  EXPECT_EQ(aes256gcm_open(key_, sealed, aad_), plain_);
}

TEST_F(AesGcmTest, RoundTripEmptyPlaintextAndNoAad) {
  const Bytes sealed = aes256gcm_seal(key_, {});
  ASSERT_EQ(sealed.size(), kOverhead);
  const auto opened = aes256gcm_open(key_, sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->empty());
}

TEST_F(AesGcmTest, SealUsesFreshNonces) {
  EXPECT_NE(aes256gcm_seal(key_, plain_, aad_), aes256gcm_seal(key_, plain_, aad_));
}

TEST_F(AesGcmTest, TamperedNonceCiphertextOrTagIsRejected) {
  const Bytes sealed = aes256gcm_seal(key_, plain_, aad_);
  for (std::size_t at : {std::size_t{0}, detail::kGcmNonceSize - 1,                  // nonce
                         detail::kGcmNonceSize, detail::kGcmNonceSize + 5,           // ciphertext
                         sealed.size() - detail::kGcmTagSize, sealed.size() - 1}) {  // tag
    Bytes tampered = sealed;
    tampered[at] ^= 0x01;
    EXPECT_FALSE(aes256gcm_open(key_, tampered, aad_).has_value()) << "flipped byte " << at;
  }
}

TEST_F(AesGcmTest, WrongKeyIsRejected) {
  const Bytes sealed = aes256gcm_seal(key_, plain_, aad_);
  EXPECT_FALSE(aes256gcm_open(random_bytes(32), sealed, aad_).has_value());
}

TEST_F(AesGcmTest, AadMismatchIsRejected) {
  const Bytes sealed = aes256gcm_seal(key_, plain_, aad_);
  EXPECT_FALSE(aes256gcm_open(key_, sealed, as_bytes("v43")).has_value());
  EXPECT_FALSE(aes256gcm_open(key_, sealed).has_value());
}

TEST_F(AesGcmTest, TooShortInputIsRejected) {
  EXPECT_FALSE(aes256gcm_open(key_, {}).has_value());
  EXPECT_FALSE(aes256gcm_open(key_, Bytes(kOverhead - 1, 0)).has_value());
  // Exactly nonce + tag is well-formed (empty plaintext) but unauthentic.
  EXPECT_FALSE(aes256gcm_open(key_, Bytes(kOverhead, 0)).has_value());
}

TEST_F(AesGcmTest, WrongKeySizeIsAMisuse) {
  EXPECT_THROW(aes256gcm_seal(Bytes(16, 0), plain_), CryptoError);
  EXPECT_THROW(aes256gcm_open(Bytes(31, 0), Bytes(64, 0)), CryptoError);
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16
// (AES-256, 96-bit IV, with AAD; also in NIST's GCM validation suite).
TEST(AesGcmVectorTest, GcmSpecTestCase16) {
  const Bytes key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes iv = hex("cafebabefacedbaddecaf888");
  const Bytes plain =
      hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const Bytes aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string expected_ct =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662";
  const std::string expected_tag = "76fc6ece0f4e1768cddf8853bb2d551b";

  const Bytes sealed = detail::aes256gcm_seal_with_nonce(key, iv, plain, aad);
  EXPECT_EQ(core::to_hex(sealed), "cafebabefacedbaddecaf888" + expected_ct + expected_tag);
  EXPECT_EQ(aes256gcm_open(key, sealed, aad), plain);
}

// Test cases 13 and 14: all-zero key and IV, empty and one-block plaintext.
TEST(AesGcmVectorTest, GcmSpecTestCases13And14) {
  const Bytes key(32, 0);
  const Bytes iv(12, 0);
  EXPECT_EQ(core::to_hex(detail::aes256gcm_seal_with_nonce(key, iv, {}, {})),
            "000000000000000000000000530f8afbc74536b9a963b4f1c4cb738b");
  EXPECT_EQ(core::to_hex(detail::aes256gcm_seal_with_nonce(key, iv, Bytes(16, 0), {})),
            "000000000000000000000000"
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AesGcmVectorTest, RejectsWrongNonceSize) {
  EXPECT_THROW(detail::aes256gcm_seal_with_nonce(Bytes(32, 0), Bytes(16, 0), {}, {}), CryptoError);
}

}  // namespace
}  // namespace backupy::crypto
