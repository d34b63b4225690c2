#include "backupy/core/redactor.hpp"

#include <gtest/gtest.h>

namespace backupy::core {
namespace {

TEST(RedactorTest, ScrubsPresignedUrlSignatures) {
  const std::string url =
      "https://s3.example/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&"
      "X-Amz-Signature=abcdef0123&X-Amz-Expires=900";
  const std::string out = redact(url);
  EXPECT_EQ(out.find("abcdef0123"), std::string::npos);
  EXPECT_EQ(out.find("AKIA"), std::string::npos);
  EXPECT_NE(out.find("X-Amz-Expires=900"), std::string::npos);
  EXPECT_NE(out.find("X-Amz-Algorithm=AWS4-HMAC-SHA256"), std::string::npos);
}

TEST(RedactorTest, ScrubsLongestSecretFirst) {
  register_secret("abcd1234");
  register_secret("abcd1234-extended");
  EXPECT_EQ(redact("x abcd1234-extended y abcd1234 z"), "x [REDACTED] y [REDACTED] z");
  forget_all_secrets();
  EXPECT_EQ(redact("abcd1234"), "abcd1234");
}

TEST(RedactorTest, IgnoresTooShortSecrets) {
  register_secret("ab");
  EXPECT_EQ(redact("abc"), "abc");
  forget_all_secrets();
}

TEST(RedactorTest, RecognisesSensitiveFieldNames) {
  EXPECT_TRUE(is_sensitive_field_name("password"));
  EXPECT_TRUE(is_sensitive_field_name("password_secret_ref"));
  EXPECT_TRUE(is_sensitive_field_name("Authorization"));
  EXPECT_TRUE(is_sensitive_field_name("agent_key"));
  EXPECT_TRUE(is_sensitive_field_name("encrypted_dek"));
  EXPECT_TRUE(is_sensitive_field_name("presigned_signature"));
  EXPECT_FALSE(is_sensitive_field_name("dek_kms_id"));
  EXPECT_FALSE(is_sensitive_field_name("job_id"));
  EXPECT_FALSE(is_sensitive_field_name("keyspace"));
}

}  // namespace
}  // namespace backupy::core
