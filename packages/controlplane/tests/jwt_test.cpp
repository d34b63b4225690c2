// HS256 JWTs, base64 and the decryption token, checked against packages/token's parser (the
// one backupy-decrypt uses) so that both sides keep agreeing on the claims.
#include "jwt.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/token/decrypt_token.hpp"
#include "base64.hpp"
#include "decryption_token.hpp"
#include "hmac.hpp"

namespace backupy::controlplane::detail {
namespace {

using nlohmann::json;

std::string decode_base64url(std::string_view text) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    bits = (bits << 6) | static_cast<std::uint32_t>(kAlphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::vector<std::string> split_jwt(const std::string& jwt) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = jwt.find('.'); dot != std::string::npos; dot = jwt.find('.', start)) {
    parts.push_back(jwt.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(jwt.substr(start));
  return parts;
}

TEST(Base64Test, EncodesTheRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(crypto::as_bytes(plain)), encoded);
    std::string unpadded = encoded.substr(0, encoded.find('='));
    EXPECT_EQ(base64url_encode(plain), unpadded);
  }
  const std::vector<std::uint8_t> high = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(high), "+/+/");
  EXPECT_EQ(base64url_encode(high), "-_-_");
}

// The well-known jwt.io example token (secret "your-256-bit-secret").
TEST(JwtTest, SignsTheJwtIoExample) {
  const std::string jwt =
      sign_hs256_jwt(R"({"sub":"1234567890","name":"John Doe","iat":1516239022})",
                     crypto::as_bytes("your-256-bit-secret"));
  EXPECT_EQ(jwt,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
            "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
}

TEST(HmacTest, MatchesRfc4231TestCase2) {
  EXPECT_EQ(core::to_hex(hmac_sha256(crypto::as_bytes("Jefe"),
                                     std::string_view("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

class DecryptionTokenTest : public ::testing::Test {
 protected:
  RunRecord& run() {
    RunRecord& r = runs_.create("nightly", "agent-1");
    return r;
  }
  const std::string key_ = std::string(32, 'k');
  RunStore runs_;
};

TEST_F(DecryptionTokenTest, CarriesExactlyTheContractClaims) {
  const RunRecord& r = run();
  const std::int64_t now = 1'700'000'000;
  const std::string jwt = issue_decryption_token(r, crypto::as_bytes(key_), now, 600);
  const std::vector<std::string> parts = split_jwt(jwt);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(json::parse(decode_base64url(parts[0])), json::parse(R"({"alg":"HS256","typ":"JWT"})"));
  const json claims = json::parse(decode_base64url(parts[1]));
  const json expected = {{"iss", "backupy-server"},
                         {"aud", "backupy-decrypt"},
                         {"exp", now + 600},
                         {"iat", now},
                         {"sub", "agent-1"},
                         {"run_id", r.run_id},
                         {"company_id", "self-hosted"},
                         {"dek", base64_encode(r.dek.bytes())},
                         {"alg", "AES-256-GCM"},
                         {"format_version", 1}};
  EXPECT_EQ(claims, expected);

  // The signature is HMAC-SHA256 over "header.payload" with the server's key.
  EXPECT_EQ(parts[2],
            base64url_encode(hmac_sha256(crypto::as_bytes(key_), parts[0] + "." + parts[1])));
}

TEST_F(DecryptionTokenTest, IsAcceptedByTheDecryptCliParser) {
  RunRecord& r = run();
  r.completed = true;
  r.sha256 = std::string(64, 'A');
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::string jwt = issue_decryption_token(r, crypto::as_bytes(key_), now, 3600);
  const auto parsed = token::parse_decrypt_token(jwt, std::chrono::system_clock::now());
  const auto* decoded = std::get_if<token::DecryptToken>(&parsed);
  ASSERT_NE(decoded, nullptr) << std::get<token::TokenError>(parsed).message;
  EXPECT_EQ(decoded->subject, "agent-1");
  EXPECT_EQ(decoded->run_id, r.run_id);
  EXPECT_EQ(decoded->company_id, "self-hosted");
  EXPECT_EQ(decoded->issued_at, now);
  EXPECT_EQ(decoded->expires_at, now + 3600);
  EXPECT_EQ(decoded->sha256, std::string(64, 'a'));
  EXPECT_TRUE(
      std::equal(decoded->dek.bytes().begin(), decoded->dek.bytes().end(), r.dek.bytes().begin()));

  // Expired in an hour, as the parser sees it.
  const auto later = std::chrono::system_clock::now() + std::chrono::seconds(3601);
  EXPECT_TRUE(std::holds_alternative<token::TokenError>(token::parse_decrypt_token(jwt, later)));
}

TEST_F(DecryptionTokenTest, OmitsSha256UntilTheBackupCompletedWithAValidDigest) {
  RunRecord& r = run();
  const auto claims_of = [&] {
    const std::string jwt = issue_decryption_token(r, crypto::as_bytes(key_), 1, 60);
    return json::parse(decode_base64url(split_jwt(jwt)[1]));
  };
  EXPECT_FALSE(claims_of().contains("sha256"));
  r.completed = true;
  r.sha256 = "not-a-digest";
  EXPECT_FALSE(claims_of().contains("sha256"));
  r.sha256 = std::string(64, 'f');
  EXPECT_EQ(claims_of().value("sha256", ""), std::string(64, 'f'));
}

}  // namespace
}  // namespace backupy::controlplane::detail
