// https_request() against the scripted loopback server: what goes on the wire, streamed and
// in-memory answers, and the failure kinds the operator CLI turns into messages.
#include "backupy/upload/https_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backupy/test_support/test_http_server.hpp"
#include "backupy/test_support/test_pki.hpp"

namespace backupy::upload {
namespace {

using test_support::Reply;
using test_support::TestHttpServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Failure = HttpsResponse::Failure;

std::string https_base(const TestHttpServer& server) {
  return "https://localhost:" + std::to_string(server.port());
}

TEST(HttpsRequestTest, PostsJsonWithHeadersAndReturnsTheAnswer) {
  const auto pki = test_support::test_pki();
  TestHttpServer server({Reply{.status = 202, .body = R"({"run_id":"run-1"})"}}, pki);
  server.keep_bodies(true);
  HttpsOptions options;
  options.ca_file = (pki / "ca.crt").string();
  const HttpsResponse response = https_request(
      {.method = "POST",
       .url = https_base(server) + "/v1/jobs/a%2Fb/run",
       .headers = {{"Authorization", "Bearer secret-token"}, {"Idempotency-Key", "k1"}},
       .body = R"({"x":1})"},
      options);
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.status, 202);
  EXPECT_EQ(response.body, R"({"run_id":"run-1"})");
  ASSERT_EQ(server.requests().size(), 1u);
  const auto requests = server.requests();
  const auto& request = requests[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/v1/jobs/a%2Fb/run");
  EXPECT_EQ(request.header("authorization"), "Bearer secret-token");
  EXPECT_EQ(request.header("idempotency-key"), "k1");
  EXPECT_EQ(request.header("content-type"), "application/json");
  EXPECT_EQ(request.body, R"({"x":1})");
}

TEST(HttpsRequestTest, StreamsA2xxBodyToTheSinkAndKeepsErrorBodies) {
  const std::string big(300'000, 'z');  // several chunks
  TestHttpServer server({Reply{.body = big}, Reply{.status = 403, .body = "<Error/>"}});
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/o?X-Sig=1";
  std::string received;
  int chunks = 0;
  const auto sink = [&](std::string_view chunk) {
    received.append(chunk);
    ++chunks;
    return true;
  };
  const HttpsResponse ok = https_request({.url = url}, {}, sink);
  ASSERT_TRUE(ok.ok()) << ok.error;
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(received, big);
  EXPECT_GT(chunks, 1);
  EXPECT_TRUE(ok.body.empty());
  ASSERT_TRUE(ok.content_length);
  EXPECT_EQ(*ok.content_length, big.size());

  received.clear();
  const HttpsResponse refused = https_request({.url = url}, {}, sink);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body, "<Error/>");
  EXPECT_TRUE(received.empty());
}

TEST(HttpsRequestTest, NamesEachFailure) {
  std::uint16_t port = 0;
  {
    TestHttpServer gone({Reply{}});
    port = gone.port();
  }
  const HttpsResponse refused =
      https_request({.url = "https://127.0.0.1:" + std::to_string(port)}, {});
  EXPECT_EQ(refused.failure, Failure::connect_refused);
  EXPECT_THAT(refused.error, HasSubstr("connection refused"));

  const auto pki = test_support::test_pki();
  TestHttpServer server({Reply{}}, pki);  // its CA is not trusted
  const HttpsResponse untrusted = https_request({.url = https_base(server) + "/x?sig=S"}, {});
  EXPECT_EQ(untrusted.failure, Failure::tls_verify);
  EXPECT_THAT(untrusted.error,
              StartsWith("TLS handshake with localhost:" + std::to_string(server.port()) +
                         " failed: certificate verify failed ("));

  const HttpsResponse plain = https_request({.url = "http://example.com/x?sig=S"}, {});
  EXPECT_EQ(plain.failure, Failure::bad_url);
  EXPECT_THAT(plain.error, Not(HasSubstr("sig=S")));

  TestHttpServer large({Reply{.body = std::string(2000, 'x')}});
  HttpsOptions small;
  small.max_body_bytes = 1000;
  const HttpsResponse too_large =
      https_request({.url = "http://127.0.0.1:" + std::to_string(large.port())}, small);
  EXPECT_EQ(too_large.failure, Failure::too_large);
}

TEST(HttpsRequestTest, CapsAStreamedBodyUpFrontOrAsItGrows) {
  TestHttpServer server({Reply{.body = std::string(5000, 'x')},
                         Reply{.body = std::string(300'000, 'y'), .chunked = true}});
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/o?X-Sig=1";
  HttpsOptions options;
  options.max_sink_bytes = 4096;
  std::uint64_t received = 0;
  const auto sink = [&](std::string_view chunk) {
    received += chunk.size();
    return true;
  };
  const HttpsResponse announced = https_request({.url = url}, options, sink);
  EXPECT_EQ(announced.failure, Failure::too_large);
  EXPECT_EQ(announced.error, "the answer from 127.0.0.1:" + std::to_string(server.port()) +
                                 " announces 5000 bytes, more than the limit of 4096 bytes");
  EXPECT_EQ(received, 0u);  // refused before any of the body reached the sink

  options.max_sink_bytes = 100'000;
  const HttpsResponse grown = https_request({.url = url}, options, sink);
  EXPECT_EQ(grown.failure, Failure::too_large);
  EXPECT_EQ(grown.error, "the answer from 127.0.0.1:" + std::to_string(server.port()) +
                             " is larger than the limit of 100000 bytes");
  EXPECT_LE(received, 100'000u);
}

TEST(HttpsRequestTest, DisplayUrlDropsQueryAndCredentials) {
  EXPECT_EQ(display_url("https://user:pw@host:8443/a/b?X-Amz-Signature=S#f"),
            "https://host:8443/a/b");
  EXPECT_EQ(display_url("https://host/a?sig=S"), "https://host/a");
}

}  // namespace
}  // namespace backupy::upload
