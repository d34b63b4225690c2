// ReleaseKey parsing (what is accepted, what each refusal says) and where the key in force
// comes from.
#include "backupy/selfupdate/release_key.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "backupy/test_support/temp_dir.hpp"
#include "test_keys.hpp"

namespace backupy::selfupdate {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

std::string refusal(std::string_view pem) {
  try {
    ReleaseKey::from_pem(pem);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

TEST(ReleaseKeyTest, AcceptsAP256PublicKeyWithAStableFingerprint) {
  const auto pair = testing::generate_ec("P-256");
  const std::string pem = testing::public_pem(pair.get());
  const ReleaseKey key = ReleaseKey::from_pem(pem);
  EXPECT_THAT(key.fingerprint(), MatchesRegex("sha256:[0-9a-f]{16}"));
  EXPECT_EQ(ReleaseKey::from_pem(pem).fingerprint(), key.fingerprint());
  const ReleaseKey copy = key;  // copies share the key
  EXPECT_EQ(copy.fingerprint(), key.fingerprint());
  const auto other = testing::generate_ec("P-256");
  EXPECT_NE(ReleaseKey::from_pem(testing::public_pem(other.get())).fingerprint(),
            key.fingerprint());
}

TEST(ReleaseKeyTest, FingerprintIsTheSha256OfTheDerSubjectPublicKeyInfo) {
  // Independent computation with the openssl CLI.
  const test_support::TempDir dir;
  const auto pair = testing::generate_ec("P-256");
  const std::string pem = testing::public_pem(pair.get());
  testing::write_file(dir.path() / "key.pem", pem);
  testing::run("openssl pkey -pubin -in " + (dir.path() / "key.pem").string() +
               " -outform DER | openssl dgst -sha256 -r > " + (dir.path() / "digest").string());
  std::ifstream in(dir.path() / "digest");
  std::string digest;
  in >> digest;
  ASSERT_EQ(digest.size(), 64u);
  EXPECT_EQ(ReleaseKey::from_pem(pem).fingerprint(), "sha256:" + digest.substr(0, 16));
}

TEST(ReleaseKeyTest, RefusesOtherKeysWithAPreciseReason) {
  const auto rsa = testing::generate_rsa(2048);
  EXPECT_THAT(refusal(testing::public_pem(rsa.get())), StartsWith("not an EC key (it is RSA)"));
  const auto p384 = testing::generate_ec("P-384");
  EXPECT_THAT(refusal(testing::public_pem(p384.get())),
              StartsWith("not a P-256 key (curve secp384r1)"));
  EXPECT_THAT(refusal("hello"), StartsWith("not a PEM public key"));
  EXPECT_THAT(refusal(""), StartsWith("not a PEM public key"));
  EXPECT_THAT(refusal("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
              StartsWith("the PEM public key does not parse: "));
  const auto p256 = testing::generate_ec("P-256");
  EXPECT_THAT(refusal(testing::private_pem(p256.get())), StartsWith("this is a private key"));
}

TEST(ReleaseKeyTest, ConfiguredKeyComesFromTheDeployFileElseTheBuiltInOne) {
  const test_support::TempDir dir;
  const auto pair = testing::generate_ec("P-256");
  const std::string pem = testing::public_pem(pair.get());
  const auto file = dir.path() / "release.pub";
  testing::write_file(file, pem);

  const std::optional<ReleaseKey> from_file = configured_release_key(file);
  ASSERT_TRUE(from_file);
  EXPECT_EQ(from_file->fingerprint(), ReleaseKey::from_pem(pem).fingerprint());

  // Without a file: the built-in key of this build, or none. The default build has none; a
  // build with -DBACKUPY_UPDATE_PUBLIC_KEY=... checks that the embedded key parses.
  const std::optional<ReleaseKey> fallback = configured_release_key(std::nullopt);
  if (const auto built_in = built_in_release_key_pem()) {
    ASSERT_TRUE(fallback);
    EXPECT_EQ(fallback->fingerprint(), ReleaseKey::from_pem(*built_in).fingerprint());
  } else {
    EXPECT_FALSE(fallback);
  }
}

TEST(ReleaseKeyTest, ConfiguredKeyFileProblemsNameTheFile) {
  const test_support::TempDir dir;
  const auto missing = dir.path() / "missing.pub";
  try {
    configured_release_key(missing);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "release signing key file " + missing.string() + " does not exist");
  }

  const auto rsa_file = dir.path() / "rsa.pub";
  const auto rsa = testing::generate_rsa(2048);
  testing::write_file(rsa_file, testing::public_pem(rsa.get()));
  try {
    configured_release_key(rsa_file);
    ADD_FAILURE() << "an RSA key was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), StartsWith("release signing key file " + rsa_file.string() +
                                     ": not an EC key (it is RSA)"));
  }

  if (::geteuid() != 0) {  // root reads anything
    const auto unreadable = dir.path() / "unreadable.pub";
    testing::write_file(unreadable, "x");
    ::chmod(unreadable.c_str(), 0);
    try {
      configured_release_key(unreadable);
      ADD_FAILURE() << "an unreadable file was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(unreadable.string()));
      EXPECT_THAT(e.what(), HasSubstr("ermission denied"));
    }
  }
}

}  // namespace
}  // namespace backupy::selfupdate
