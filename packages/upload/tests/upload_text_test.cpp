#include "upload_text.hpp"

#include <gtest/gtest.h>

namespace backupy::upload::detail {
namespace {

using namespace std::chrono_literals;

TEST(UploadText, DisplayUrlDropsTheQueryString) {
  const auto url = net::parse_url("https://s3.example.com:9000/b/k.blob?X-Amz-Signature=SECRET");
  ASSERT_TRUE(url);
  EXPECT_EQ(display_url(*url), "https://s3.example.com:9000/b/k.blob");
  EXPECT_EQ(display_url("not a url?X-Amz-Signature=SECRET#frag"), "not a url");
  EXPECT_EQ(display_url("http://user:pa55@host:81/path?q=1"), "http://host:81/path");
  EXPECT_EQ(display_url("http://user:pa55@host"), "http://host");
  EXPECT_EQ(display_url("https://host/a@b"), "https://host/a@b");  // '@' in the path stays
  const auto v6 = net::parse_url("http://[::1]:8080/b?sig");
  ASSERT_TRUE(v6);
  EXPECT_EQ(display_url(*v6), "http://[::1]:8080/b");
}

TEST(UploadText, FormatsSizesExactly) {
  EXPECT_EQ(format_bytes(5ull << 30), "5 GiB");
  EXPECT_EQ(format_bytes(1 << 20), "1 MiB");
  EXPECT_EQ(format_bytes(1000), "1000 bytes");
  EXPECT_EQ(format_bytes(0), "0 bytes");
  EXPECT_EQ(format_duration(60s), "60s");
  EXPECT_EQ(format_duration(300ms), "300ms");
  EXPECT_EQ(host_port("::1", 443), "[::1]:443");
}

TEST(UploadText, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  EXPECT_TRUE(is_loopback_host("s3.localhost"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
  EXPECT_FALSE(is_loopback_host("::2"));
}

TEST(UploadText, S3ErrorCodes) {
  EXPECT_EQ(s3_error_code("<Error><Code>SignatureDoesNotMatch</Code></Error>"),
            "SignatureDoesNotMatch");
  EXPECT_EQ(s3_error_code("<Error><Code>  SlowDown </Code>"), "SlowDown");
  EXPECT_EQ(s3_error_code("no xml"), "");
  EXPECT_EQ(s3_error_code("<Code>not an identifier</Code>"), "");
  EXPECT_EQ(s3_error_code("<Code>unterminated"), "");
  EXPECT_EQ(http_failure(403, "Forbidden", "<Error><Code>AccessDenied</Code></Error>"),
            "http 403 (AccessDenied)");
  EXPECT_EQ(http_failure(500, "Internal Server Error", ""), "http 500 Internal Server Error");
  EXPECT_EQ(http_failure(599, "", ""), "http 599");
}

TEST(UploadText, RetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(retryable_status(status));
  for (int status : {301, 400, 401, 403, 404, 411, 413}) EXPECT_FALSE(retryable_status(status));
}

TEST(UploadText, RetryAfterSeconds) {
  EXPECT_EQ(parse_retry_after("1"), 1s);
  EXPECT_EQ(parse_retry_after(" 30 "), 30s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1"), std::nullopt);
  EXPECT_EQ(parse_retry_after("99999999"), 86400s);  // bounded before any cap
}

TEST(UploadText, EtagsLoseTheirQuotes) {
  EXPECT_EQ(unquote_etag("\"abc\""), "abc");
  EXPECT_EQ(unquote_etag("abc"), "abc");
  EXPECT_EQ(unquote_etag("W/\"abc\""), "W/\"abc\"");
}

}  // namespace
}  // namespace backupy::upload::detail
