// SigV4 presigning against AWS's published examples and curl's independent signer.
#include "sigv4.hpp"

#include <gtest/gtest.h>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::controlplane::sigv4 {
namespace {

constexpr std::int64_t k20130524 = 1369353600;  // 2013-05-24T00:00:00Z
constexpr std::int64_t k20150830T123600 = 1440938160;
constexpr std::string_view kS3ExampleKeyId = "AKIAIOSFODNN7EXAMPLE";
constexpr std::string_view kS3ExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const std::string kEmptySha256 = crypto::sha256_hex({});

Endpoint endpoint(std::string_view text) {
  std::string error;
  std::optional<Endpoint> parsed = parse_endpoint(text, &error);
  EXPECT_TRUE(parsed) << text << ": " << error;
  return parsed.value_or(Endpoint{});
}

// A us-east-1 request made at k20130524.
PresignRequest example_request(std::string method, std::string_view endpoint_text,
                               std::string bucket, std::string key, std::int64_t expires_sec) {
  PresignRequest request;
  request.method = std::move(method);
  request.endpoint = endpoint(endpoint_text);
  request.bucket = std::move(bucket);
  request.key = std::move(key);
  request.region = "us-east-1";
  request.now_sec = k20130524;
  request.expires_sec = expires_sec;
  return request;
}

// Presigns with the S3 documentation's example credentials.
std::string presign_with_example_key(const PresignRequest& request) {
  return presign_url(request, {std::string(kS3ExampleKeyId), std::string(kS3ExampleSecret)});
}

// S3 docs, "Authenticating Requests: Using Query Parameters": GET /test.txt on examplebucket
// (virtual-host style), 86400 s.
TEST(SigV4Test, MatchesTheS3QueryParameterExample) {
  PresignRequest request =
      example_request("GET", "https://s3.amazonaws.com", "examplebucket", "test.txt", 86400);
  request.path_style = false;
  const std::string url = presign_with_example_key(request);
  EXPECT_EQ(url,
            "https://examplebucket.s3.amazonaws.com/test.txt"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
TEST(SigV4Test, DerivesTheDocumentedSigningKey) {
  const detail::Digest key =
      signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
  EXPECT_EQ(core::to_hex(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

// The AWS SigV4 test suite (header style, service "service"): get-vanilla and
// get-vanilla-query-order-key-case, step by step.
TEST(SigV4Test, MatchesTheSigV4TestSuite) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> query;
    std::string canonical_hash;
    std::string signature;
  };
  const std::vector<Case> cases = {
      {{},
       "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
      {{{"Param2", "value2"}, {"Param1", "value1"}},
       "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
       "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
  };
  const std::string date = amz_date(k20150830T123600);
  ASSERT_EQ(date, "20150830T123600Z");
  const std::string scope = "20150830/us-east-1/service/aws4_request";
  const detail::Digest key =
      signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service");
  for (const Case& c : cases) {
    const CanonicalRequest canonical =
        canonical_request("GET", "/", canonical_query(c.query),
                          {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", date}}, kEmptySha256);
    EXPECT_EQ(canonical.signed_headers, "host;x-amz-date");
    const std::string to_sign = string_to_sign(date, scope, canonical.text);
    EXPECT_EQ(to_sign, "AWS4-HMAC-SHA256\n20150830T123600Z\n" + scope + "\n" + c.canonical_hash);
    EXPECT_EQ(signature_hex(key, to_sign), c.signature);
  }
}

// curl 7.88 `--aws-sigv4 aws:amz:<region>:s3` with X-Amz-Date and x-amz-content-sha256:
// UNSIGNED-PAYLOAD given, recorded from the Authorization header it sent. This checks the
// path encoding (S3: once, '/' kept) with an independent implementation.
TEST(SigV4Test, AgreesWithCurlOnS3Paths) {
  struct Case {
    std::string method, region, date, bucket, key, signature;
  };
  const std::vector<Case> cases = {
      {"PUT", "us-east-1", "20130524T000000Z", "backups",
       "agents/agent-1/nightly/run-0123456789abcdef.bkpy",
       "6689a397ccbaa327320ade3656f51404bcffaeacd11e84ac158960061127d3d8"},
      {"GET", "eu-west-1", "20240229T235959Z", "backups", "agents/a b/my+job/r~1_\xC3\xA9.bkpy",
       "0a38ab0357244af0fdb104f7b540eeb8e10a248bead312e7e893b3661d47d353"},
  };
  for (const Case& c : cases) {
    const std::string uri = "/" + c.bucket + "/" + uri_encode(c.key, false);
    const CanonicalRequest canonical =
        canonical_request(c.method, uri, "",
                          {{"host", "127.0.0.1:18765"},
                           {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
                           {"x-amz-date", c.date}},
                          "UNSIGNED-PAYLOAD");
    const std::string day = c.date.substr(0, 8);
    const std::string to_sign =
        string_to_sign(c.date, day + "/" + c.region + "/s3/aws4_request", canonical.text);
    EXPECT_EQ(signature_hex(signing_key(kS3ExampleSecret, day, c.region, "s3"), to_sign),
              c.signature)
        << c.key;
  }
}

TEST(SigV4Test, EncodesKeysOnceKeepingSlashes) {
  EXPECT_EQ(uri_encode("agents/a/b/r.bkpy", false), "agents/a/b/r.bkpy");
  EXPECT_EQ(uri_encode("a b+c%d/~_-.", false), "a%20b%2Bc%25d/~_-.");
  EXPECT_EQ(uri_encode("a/b", true), "a%2Fb");
  EXPECT_EQ(uri_encode("\xC3\xA9", false), "%C3%A9");
  EXPECT_EQ(uri_encode("=&?#", false), "%3D%26%3F%23");
}

TEST(SigV4Test, SortsTheCanonicalQueryByEncodedName) {
  EXPECT_EQ(canonical_query({{"b", "2"}, {"a", "x/y"}, {"B", "1"}, {"a", "w"}}),
            "B=1&a=w&a=x%2Fy&b=2");
}

TEST(SigV4Test, PresignsPathStylePutsForSelfHostedS3) {
  const PresignRequest request = example_request("PUT", "http://127.0.0.1:9000/", "backups",
                                                 "agents/agent-1/nightly/run 1.bkpy", 3600);
  const std::string url = presign_with_example_key(request);
  const std::string prefix = "http://127.0.0.1:9000/backups/agents/agent-1/nightly/run%201.bkpy?";
  ASSERT_EQ(url.substr(0, prefix.size()), prefix);
  EXPECT_NE(url.find("&X-Amz-Expires=3600&"), std::string::npos);

  // The signature is the one of the canonical request built by hand.
  const std::string query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host";
  const std::string canonical = "PUT\n/backups/agents/agent-1/nightly/run%201.bkpy\n" + query +
                                "\nhost:127.0.0.1:9000\n\nhost\nUNSIGNED-PAYLOAD";
  const std::string signature = signature_hex(
      signing_key(kS3ExampleSecret, "20130524", "us-east-1", "s3"),
      string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical));
  EXPECT_EQ(url, prefix + query + "&X-Amz-Signature=" + signature);
}

TEST(SigV4Test, DropsDefaultPortsFromTheSignedHost) {
  EXPECT_EQ(endpoint("https://S3.EU-West-1.amazonaws.com:443").authority(),
            "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(endpoint("http://minio:80").authority(), "minio");
  EXPECT_EQ(endpoint("http://minio:9000").authority(), "minio:9000");
  EXPECT_EQ(endpoint("http://[::1]:9000").authority(), "[::1]:9000");
  EXPECT_TRUE(endpoint("http://[::1]:9000").host_is_ip);
  EXPECT_TRUE(endpoint("http://10.0.0.1").host_is_ip);
  EXPECT_FALSE(endpoint("http://minio").host_is_ip);
}

TEST(SigV4Test, RejectsEndpointsThatAreNotJustSchemeAndAuthority) {
  for (std::string_view bad :
       {"s3.amazonaws.com", "ftp://host", "https://", "https://host/bucket", "https://host?x=1",
        "https://user:pw@host", "https://host:0", "https://host:99999", "https://ho st",
        "https://[::1", "http://host:"}) {
    std::string error;
    EXPECT_FALSE(parse_endpoint(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(SigV4Test, RefusesExpiriesBeyondSevenDays) {
  PresignRequest request;
  request.method = "GET";
  request.endpoint = endpoint("http://127.0.0.1:9000");
  request.bucket = "b";
  request.key = "k";
  request.region = "us-east-1";
  request.expires_sec = kMaxExpiresSec + 1;
  EXPECT_THROW(presign_url(request, {"a", "b"}), std::invalid_argument);
  request.expires_sec = 0;
  EXPECT_THROW(presign_url(request, {"a", "b"}), std::invalid_argument);
  request.expires_sec = kMaxExpiresSec;
  EXPECT_NO_THROW(presign_url(request, {"a", "b"}));
}

}  // namespace
}  // namespace backupy::controlplane::sigv4
