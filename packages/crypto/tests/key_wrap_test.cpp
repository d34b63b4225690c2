#include "backupy/crypto/key_wrap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/detail/key_wrap.hpp"
#include "test_hex.hpp"

namespace backupy::crypto {
namespace {

using testing::hex;
using Key = std::array<std::uint8_t, 32>;

Key key(std::string_view text) {
  const Bytes bytes = hex(text);
  if (bytes.size() != 32) throw std::invalid_argument("test key must be 32 bytes");
  Key out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Key random_key() {
  const Bytes bytes = random_bytes(32);
  Key out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

// RFC 7748 section 6.1.
constexpr std::string_view kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

constexpr std::string_view kKeyId = "x25519-0123456789abcdef";

TEST(KeyWrapTest, X25519PublicKeyRfc7748Vectors) {
  EXPECT_EQ(core::to_hex(x25519_public_key(key(kAlicePrivate))), kAlicePublic);
  EXPECT_EQ(core::to_hex(x25519_public_key(key(kBobPrivate))), kBobPublic);
}

class KeyWrapRoundTrip : public ::testing::Test {
 protected:
  Key recipient_private = random_key();
  Key recipient_public = x25519_public_key(recipient_private);
  Key dek = random_key();
};

TEST_F(KeyWrapRoundTrip, UnwrapReturnsTheDek) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, kKeyId);
  ASSERT_EQ(wrapped.size(), kWrappedDekSize);
  EXPECT_EQ(wrapped[0], 0x01);
  const auto opened = unwrap_dek(wrapped, recipient_private, kKeyId);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, dek);
}

TEST_F(KeyWrapRoundTrip, EmptyKeyIdIsAllowedButBinds) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, "");
  EXPECT_EQ(unwrap_dek(wrapped, recipient_private, ""), dek);
  EXPECT_FALSE(unwrap_dek(wrapped, recipient_private, kKeyId).has_value());
}

TEST_F(KeyWrapRoundTrip, WrongPrivateKeyFails) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, kKeyId);
  EXPECT_FALSE(unwrap_dek(wrapped, random_key(), kKeyId).has_value());
}

TEST_F(KeyWrapRoundTrip, WrongKeyIdFails) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, kKeyId);
  EXPECT_FALSE(unwrap_dek(wrapped, recipient_private, "x25519-0123456789abcdee").has_value());
  EXPECT_FALSE(unwrap_dek(wrapped, recipient_private, "x25519-0123456789abcde").has_value());
}

TEST_F(KeyWrapRoundTrip, EveryFlippedByteFails) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, kKeyId);
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    for (std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      Bytes altered = wrapped;
      altered[i] ^= mask;
      EXPECT_FALSE(unwrap_dek(altered, recipient_private, kKeyId).has_value())
          << "byte " << i << " mask " << int{mask};
    }
  }
}

TEST_F(KeyWrapRoundTrip, WrongLengthOrVersionFails) {
  const Bytes wrapped = wrap_dek(dek, recipient_public, kKeyId);
  EXPECT_FALSE(unwrap_dek({}, recipient_private, kKeyId).has_value());
  EXPECT_FALSE(unwrap_dek(std::span(wrapped).first(wrapped.size() - 1), recipient_private, kKeyId)
                   .has_value());
  Bytes longer = wrapped;
  longer.push_back(0x00);
  EXPECT_FALSE(unwrap_dek(longer, recipient_private, kKeyId).has_value());
  for (std::uint8_t version : {std::uint8_t{0x00}, std::uint8_t{0x02}, std::uint8_t{0xff}}) {
    Bytes other = wrapped;
    other[0] = version;
    EXPECT_FALSE(unwrap_dek(other, recipient_private, kKeyId).has_value());
  }
}

TEST_F(KeyWrapRoundTrip, TwoWrapsOfTheSameDekDiffer) {
  const Bytes first = wrap_dek(dek, recipient_public, kKeyId);
  const Bytes second = wrap_dek(dek, recipient_public, kKeyId);
  EXPECT_NE(first, second);
  // Fresh ephemeral key and nonce each time, not only a fresh nonce.
  EXPECT_FALSE(std::equal(first.begin() + 1, first.begin() + 33, second.begin() + 1));
  EXPECT_EQ(unwrap_dek(first, recipient_private, kKeyId), dek);
  EXPECT_EQ(unwrap_dek(second, recipient_private, kKeyId), dek);
}

TEST(KeyWrapTest, LowOrderRecipientKeyThrows) {
  const Key dek = random_key();
  const Key zeros{};
  EXPECT_THROW(wrap_dek(dek, zeros, kKeyId), CryptoError);
  // 1 is another low-order point (order 1 after clamping the scalar's cofactor bits).
  Key one{};
  one[0] = 0x01;
  EXPECT_THROW(wrap_dek(dek, one, kKeyId), CryptoError);
}

TEST(KeyWrapTest, LowOrderEphemeralKeyDoesNotOpen) {
  // A wrap whose ephemeral key was replaced with the all-zero point: unwrap must report
  // failure (not throw, not return a key derived from a known shared secret).
  const Key recipient_private = random_key();
  Bytes wrapped = wrap_dek(random_key(), x25519_public_key(recipient_private), kKeyId);
  std::fill(wrapped.begin() + 1, wrapped.begin() + 33, 0x00);
  EXPECT_FALSE(unwrap_dek(wrapped, recipient_private, kKeyId).has_value());
}

// Known answer for the worked example in docs/formats/wrapped-dek-v1.md: recipient = Bob,
// ephemeral = Alice, so the shared secret is RFC 7748's 4a5d9d5b...1742. The expected bytes were
// cross-checked with Python's `cryptography` (X25519, HKDF, AESGCM).
TEST(KeyWrapTest, WorkedExampleKnownAnswer) {
  const Key dek = key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const Bytes nonce = hex("0a0b0c0d0e0f101112131415");
  const Bytes wrapped = detail::wrap_dek_with(dek, key(kBobPublic), kKeyId, key(kAlicePrivate),
                                              std::span<const std::uint8_t, 12>(nonce.data(), 12));
  EXPECT_EQ(core::to_hex(wrapped),
            "01"                                                                // version
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"  // E
            "0a0b0c0d0e0f101112131415"                                          // nonce
            "4261f8197fe2c6d37c3e9bc3d471be55dc210c7a06caf5cde3e26fcf84440b02"  // ciphertext
            "288634ff750d268356c8a53a2419d29e");                                // tag
  EXPECT_EQ(unwrap_dek(wrapped, key(kBobPrivate), kKeyId), dek);
}

}  // namespace
}  // namespace backupy::crypto
