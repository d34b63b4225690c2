#include "backupy/token/decrypt_token.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "backupy/token/testing/jwt_builder.hpp"

namespace backupy::token {
namespace {

using nlohmann::json;
using testing::kTestExpiresAt;
using testing::make_jwt;
using testing::make_jwt_from_text;
using testing::valid_payload;

using Clock = std::chrono::system_clock;

Clock::time_point at(std::int64_t epoch_seconds) {
  return Clock::time_point(std::chrono::seconds(epoch_seconds));
}

const Clock::time_point kNow = at(kTestExpiresAt - 3600);

// The error for a token, or "" if it was accepted.
std::string error_of(std::string_view jwt, Clock::time_point now = kNow) {
  auto result = parse_decrypt_token(jwt, now);
  if (auto* error = std::get_if<TokenError>(&result)) return error->message;
  return "";
}

std::string error_with(const char* claim, const json& value) {
  json payload = valid_payload();
  payload[claim] = value;
  return error_of(make_jwt(payload));
}

std::string error_without(const char* claim) {
  json payload = valid_payload();
  payload.erase(claim);
  return error_of(make_jwt(payload));
}

TEST(DecryptToken, AcceptsAValidTokenAndExposesItsClaims) {
  json payload = valid_payload();
  payload["sha256"] = std::string(64, 'A');
  auto result = parse_decrypt_token("  " + make_jwt(payload) + "\n", kNow);
  ASSERT_TRUE(std::holds_alternative<DecryptToken>(result)) << std::get<TokenError>(result).message;
  const auto& token = std::get<DecryptToken>(result);
  EXPECT_EQ(token.subject, "user-42");
  EXPECT_EQ(token.run_id, "run-7f3a");
  EXPECT_EQ(token.company_id, "company-9");
  EXPECT_EQ(token.issued_at, testing::kTestIssuedAt);
  EXPECT_EQ(token.expires_at, kTestExpiresAt);
  const auto key = testing::test_key();
  EXPECT_TRUE(std::ranges::equal(token.dek.bytes(), key));
  EXPECT_EQ(token.sha256, std::string(64, 'a'));  // normalized to lowercase
}

TEST(DecryptToken, Sha256IsOptional) {
  auto result = parse_decrypt_token(make_jwt(valid_payload()), kNow);
  ASSERT_TRUE(std::holds_alternative<DecryptToken>(result));
  EXPECT_FALSE(std::get<DecryptToken>(result).sha256.has_value());
  EXPECT_EQ(error_with("sha256", nullptr), "");  // null counts as absent
}

TEST(DecryptToken, Structure) {
  EXPECT_EQ(error_of(""), "token is empty");
  EXPECT_EQ(error_of(" \n"), "token is empty");
  EXPECT_EQ(error_of("abc"), "token is not a jwt: expected 3 dot-separated parts, got 1");
  EXPECT_EQ(error_of("a.b"), "token is not a jwt: expected 3 dot-separated parts, got 2");
  EXPECT_EQ(error_of(make_jwt(valid_payload()) + ".x"),
            "token is not a jwt: expected 3 dot-separated parts, got 4");
}

TEST(DecryptToken, PartsMustBeUnpaddedBase64UrlJsonObjects) {
  const std::string payload = testing::base64url(valid_payload().dump());
  const std::string header = testing::base64url(R"({"alg":"HS256"})");
  EXPECT_EQ(error_of(".x.y"), "token header is empty");
  EXPECT_EQ(error_of(header + "..sig"), "token payload is empty");
  EXPECT_EQ(error_of("eyJ*." + payload + ".sig"), "token header is not valid base64url");
  EXPECT_EQ(error_of("eyJhbGciOiJIUzI1NiJ9==." + payload + ".sig"),
            "token header is not valid base64url (padding '=' is not allowed)");
  EXPECT_EQ(error_of(header + "." + payload + ".c2ln="), "token signature is not valid base64url");
  EXPECT_EQ(error_of(header + "." + payload + "."), "token signature is missing");
  EXPECT_EQ(error_of(make_jwt_from_text("{not json", "{}")), "token header is not valid json");
  EXPECT_EQ(error_of(make_jwt_from_text("[1]", "{}")), "token header is not a json object");
  EXPECT_EQ(error_of(make_jwt_from_text(R"({"alg":"HS256"})", "nope")),
            "token payload is not valid json");
  EXPECT_EQ(error_of(make_jwt_from_text(R"({"alg":"HS256"})", "\"x\"")),
            "token payload is not a json object");
}

TEST(DecryptToken, HeaderAlgMustBeHs256) {
  EXPECT_EQ(error_of(make_jwt(valid_payload(), {{"typ", "JWT"}})), "token header has no alg");
  EXPECT_EQ(error_of(make_jwt(valid_payload(), {{"alg", "none"}})),
            "token header alg must be \"HS256\", got \"none\"");
  EXPECT_EQ(error_of(make_jwt(valid_payload(), {{"alg", "RS256"}})),
            "token header alg must be \"HS256\", got \"RS256\"");
}

TEST(DecryptToken, Issuer) {
  EXPECT_EQ(error_without("iss"), "token claim iss is missing");
  EXPECT_EQ(error_with("iss", "someone-else"),
            "token claim iss must be \"backupy-server\", got \"someone-else\"");
  EXPECT_EQ(error_with("iss", 5), "token claim iss must be \"backupy-server\", got 5");
}

TEST(DecryptToken, AudienceIsTheStringOrAnArrayContainingIt) {
  EXPECT_EQ(error_with("aud", json::array({"backupy-console", "backupy-decrypt"})), "");
  EXPECT_EQ(error_without("aud"), "token claim aud is missing");
  EXPECT_EQ(error_with("aud", "backupy-agent"),
            "token claim aud must be \"backupy-decrypt\" or an array containing it, got "
            "\"backupy-agent\"");
  EXPECT_EQ(error_with("aud", json::array({"backupy-agent"})),
            "token claim aud must be \"backupy-decrypt\" or an array containing it, got "
            "[\"backupy-agent\"]");
  EXPECT_EQ(error_with("aud", json::array()),
            "token claim aud must be \"backupy-decrypt\" or an array containing it, got []");
}

TEST(DecryptToken, ExpiryIsCheckedAgainstTheInjectedClock) {
  const std::string jwt = make_jwt(valid_payload());
  EXPECT_EQ(error_of(jwt, at(kTestExpiresAt - 1)), "");
  // kTestExpiresAt = 1795604800 = 2026-11-25T11:06:40Z
  EXPECT_EQ(error_of(jwt, at(kTestExpiresAt)), "token expired at 2026-11-25T11:06:40Z");
  EXPECT_EQ(error_of(jwt, at(kTestExpiresAt + 86400)), "token expired at 2026-11-25T11:06:40Z");
}

TEST(DecryptToken, TimesMustBeNumbers) {
  EXPECT_EQ(error_without("exp"), "token claim exp is missing");
  EXPECT_EQ(error_without("iat"), "token claim iat is missing");
  EXPECT_EQ(error_with("exp", "tomorrow"),
            "token claim exp must be a number (seconds since the epoch), got \"tomorrow\"");
  EXPECT_EQ(error_with("iat", true),
            "token claim iat must be a number (seconds since the epoch), got true");
  EXPECT_EQ(error_with("exp", -5),
            "token claim exp must be a time between 1970 and 9999 in seconds since the epoch, "
            "got -5");
  EXPECT_EQ(error_with("exp", 1e300),
            "token claim exp must be a time between 1970 and 9999 in seconds since the epoch, "
            "got 1e+300");
  // NumericDate may be fractional: floored.
  json payload = valid_payload();
  payload["exp"] = static_cast<double>(kTestExpiresAt) + 0.75;
  auto result = parse_decrypt_token(make_jwt(payload), kNow);
  ASSERT_TRUE(std::holds_alternative<DecryptToken>(result));
  EXPECT_EQ(std::get<DecryptToken>(result).expires_at, kTestExpiresAt);
}

TEST(DecryptToken, IdentityClaimsMustBeNonEmptyStrings) {
  for (const char* claim : {"sub", "run_id", "company_id"}) {
    EXPECT_EQ(error_without(claim), std::string("token claim ") + claim + " is missing");
    EXPECT_EQ(error_with(claim, nullptr), std::string("token claim ") + claim + " is missing");
    EXPECT_EQ(error_with(claim, 42), std::string("token claim ") + claim + " must be a string");
    EXPECT_EQ(error_with(claim, ""), std::string("token claim ") + claim + " is empty");
  }
}

TEST(DecryptToken, DekMustBePaddedBase64Of32Bytes) {
  const auto key = testing::test_key();
  const std::string good = testing::base64(key);
  ASSERT_EQ(good, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  EXPECT_EQ(error_without("dek"), "token claim dek is missing");
  EXPECT_EQ(error_with("dek", 7), "token claim dek must be a string");
  const char* const kNotBase64 =
      "token claim dek is not valid base64 (standard alphabet, with padding)";
  EXPECT_EQ(error_with("dek", good.substr(0, 43)), kNotBase64);                 // padding dropped
  EXPECT_EQ(error_with("dek", testing::encode_base64(key, true)), kNotBase64);  // base64url
  EXPECT_EQ(error_with("dek", "AAEC AwQF"), kNotBase64);
  EXPECT_EQ(error_with("dek", testing::base64(std::span(key).first(31))),
            "token claim dek must decode to 32 bytes, got 31");
  const std::array<std::uint8_t, 33> longer{};
  EXPECT_EQ(error_with("dek", testing::base64(longer)),
            "token claim dek must decode to 32 bytes, got 33");
}

TEST(DecryptToken, ErrorsNeverQuoteTheDek) {
  // A key-sized value with a bad character: the message must not echo it.
  const std::string secret = "c2VjcmV0LWtleS1tYXRlcmlhbC0wMTIzNDU2Nzg5YWI*";
  const std::string message = error_with("dek", secret);
  EXPECT_FALSE(message.empty());
  EXPECT_EQ(message.find("c2VjcmV0"), std::string::npos) << message;
}

TEST(DecryptToken, CipherAlgAndFormatVersion) {
  EXPECT_EQ(error_without("alg"), "token claim alg is missing");
  EXPECT_EQ(error_with("alg", "AES-128-GCM"),
            "token claim alg must be \"AES-256-GCM\", got \"AES-128-GCM\"");
  EXPECT_EQ(error_without("format_version"), "token claim format_version is missing");
  EXPECT_EQ(error_with("format_version", "1"),
            "token claim format_version must be an integer, got \"1\"");
  EXPECT_EQ(error_with("format_version", 2),
            "token is for blob format version 2, but this backupy-decrypt reads only version 1");
}

TEST(DecryptToken, Sha256MustBe64HexCharacters) {
  // Long values are cut to 60 characters (the quote included).
  EXPECT_EQ(error_with("sha256", std::string(63, 'a')),
            "token claim sha256 must be 64 hex characters, got \"" + std::string(59, 'a') + "...");
  EXPECT_EQ(error_with("sha256", std::string(63, 'a') + "g"),
            "token claim sha256 must be 64 hex characters, got \"" + std::string(59, 'a') + "...");
  EXPECT_EQ(error_with("sha256", 12), "token claim sha256 must be 64 hex characters, got 12");
}

TEST(DecryptToken, MalformedClaimsAreReportedBeforeExpiry) {
  json payload = valid_payload();
  payload["iss"] = "x";
  EXPECT_EQ(error_of(make_jwt(payload), at(kTestExpiresAt + 1)),
            "token claim iss must be \"backupy-server\", got \"x\"");
}

TEST(FormatUtcSeconds, PrintsIso8601) {
  EXPECT_EQ(format_utc_seconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc_seconds(1'795'604'800), "2026-11-25T11:06:40Z");
  EXPECT_EQ(format_utc_seconds(253'402'300'799), "9999-12-31T23:59:59Z");
}

}  // namespace
}  // namespace backupy::token
