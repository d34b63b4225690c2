// verify_release() with keys and signatures made here (EVP API) and once by the openssl CLI.
#include "backupy/selfupdate/verify.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "test_keys.hpp"

namespace backupy::selfupdate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_ = std::string(700'000, '\0');  // several read chunks
    for (std::size_t i = 0; i < content_.size(); ++i) {
      content_[i] = static_cast<char>((i * 131) % 251);
    }
    file_ = dir_.path() / "backupy-agent";
    testing::write_file(file_, content_);
    sha256_ = crypto::sha256_hex(crypto::as_bytes(content_));
    signature_ = testing::sign(pair_.get(), content_);
  }

  const test_support::TempDir dir_;
  const testing::Pkey pair_ = testing::generate_ec("P-256");
  const ReleaseKey key_ = ReleaseKey::from_pem(testing::public_pem(pair_.get()));
  std::string content_;
  std::filesystem::path file_;
  std::string sha256_;
  std::string signature_;  // DER
};

TEST_F(VerifyTest, AcceptsDerAndBase64Signatures) {
  const Verdict der = verify_release(file_, sha256_, signature_, key_);
  EXPECT_TRUE(der.ok) << der.reason;
  EXPECT_TRUE(der.reason.empty());

  // cosign sign-blob --output-signature writes base64 text; a trailing newline is tolerated.
  const Verdict text = verify_release(file_, sha256_, testing::base64(signature_) + "\n", key_);
  EXPECT_TRUE(text.ok) << text.reason;

  std::string upper = sha256_;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const Verdict upper_hex = verify_release(file_, upper, signature_, key_);
  EXPECT_TRUE(upper_hex.ok) << upper_hex.reason;
}

TEST_F(VerifyTest, RefusesASignatureByAnotherKey) {
  const auto other = testing::generate_ec("P-256");
  const ReleaseKey other_key = ReleaseKey::from_pem(testing::public_pem(other.get()));
  const Verdict verdict = verify_release(file_, sha256_, signature_, other_key);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason,
            "signature does not verify against the release key " + other_key.fingerprint());
}

TEST_F(VerifyTest, RefusesAFileWithOneFlippedByteAsAHashMismatch) {
  std::string tampered = content_;
  tampered[400'000] = static_cast<char>(tampered[400'000] ^ 0x01);
  testing::write_file(file_, tampered);
  const Verdict verdict = verify_release(file_, sha256_, signature_, key_);
  EXPECT_FALSE(verdict.ok);
  EXPECT_EQ(verdict.reason, "sha256 mismatch: expected " + sha256_ + ", got " +
                                crypto::sha256_hex(crypto::as_bytes(tampered)));
}

TEST_F(VerifyTest, RefusesTheRightHashWithASignatureOverOtherContent) {
  const std::string other = testing::sign(pair_.get(), "another release");
  const Verdict verdict = verify_release(file_, sha256_, testing::base64(other), key_);
  EXPECT_FALSE(verdict.ok);
  EXPECT_THAT(verdict.reason, StartsWith("signature does not verify against the release key"));
}

TEST_F(VerifyTest, RefusesMalformedSignaturesAndHashes) {
  for (const std::string& garbage :
       {std::string("not a signature"), std::string("MEUCIQ=="), std::string("\x30\x02\x01", 3),
        signature_.substr(0, signature_.size() - 1), signature_ + "x",
        testing::base64("hello world")}) {
    const Verdict verdict = verify_release(file_, sha256_, garbage, key_);
    EXPECT_FALSE(verdict.ok) << garbage;
    EXPECT_EQ(verdict.reason, "signature is neither DER nor base64 DER (an ECDSA signature)");
  }
  EXPECT_EQ(verify_release(file_, sha256_, "", key_).reason, "the signature is empty");

  for (const std::string& hex :
       {sha256_.substr(1), sha256_ + "0", "z" + sha256_.substr(1), std::string()}) {
    const Verdict verdict = verify_release(file_, hex, signature_, key_);
    EXPECT_FALSE(verdict.ok);
    EXPECT_EQ(verdict.reason, "expected sha256 is not 64 hex digits");
  }

  const Verdict missing = verify_release(dir_.path() / "nope", sha256_, signature_, key_);
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.reason,
            "cannot read " + (dir_.path() / "nope").string() + ": No such file or directory");
}

TEST_F(VerifyTest, AcceptsASignatureMadeByTheOpensslCli) {
  // An independent signer: key pair and signature from the openssl command line tool, the
  // signature given as base64 text (openssl base64 wraps lines at 64 characters).
  const std::string d = dir_.path().string();
  testing::run("openssl ecparam -name prime256v1 -genkey -noout -out " + d + "/cli.key");
  testing::run("openssl ec -in " + d + "/cli.key -pubout -out " + d + "/cli.pub 2>/dev/null");
  testing::run("openssl dgst -sha256 -sign " + d + "/cli.key -out " + d + "/sig.der " +
               file_.string());
  testing::run("openssl base64 -in " + d + "/sig.der -out " + d + "/sig.b64");
  const auto slurp = [](const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const ReleaseKey cli_key = ReleaseKey::from_pem(slurp(d + "/cli.pub"));
  const Verdict der = verify_release(file_, sha256_, slurp(d + "/sig.der"), cli_key);
  EXPECT_TRUE(der.ok) << der.reason;
  const Verdict text = verify_release(file_, sha256_, slurp(d + "/sig.b64"), cli_key);
  EXPECT_TRUE(text.ok) << text.reason;
  // ... and our key does not verify the CLI's signature.
  EXPECT_FALSE(verify_release(file_, sha256_, slurp(d + "/sig.der"), key_).ok);
}

}  // namespace
}  // namespace backupy::selfupdate
