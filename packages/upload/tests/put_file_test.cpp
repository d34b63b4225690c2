// put_file() against a real (scripted) HTTP/HTTPS server on loopback: what goes on the wire,
// which failures are retried and how long it waits, and that the signature never leaks.
#include "backupy/upload/put_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <span>
#include <thread>

#include "backupy/core/log.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/test_support/connect_proxy.hpp"
#include "backupy/test_support/test_http_server.hpp"
#include "backupy/test_support/test_pki.hpp"

namespace backupy::upload {
namespace {

using namespace std::chrono_literals;
using test_support::Reply;
using test_support::TestHttpServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace fs = std::filesystem;

constexpr std::string_view kQuery =
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1"
    "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRETSIG";

// Captures every log record of the test so that it can be searched for the signature.
class LogCapture {
 public:
  LogCapture()
      : id_(core::add_log_tap([this](const core::LogRecord& record) {
          std::lock_guard lock(mutex_);
          text_ += record.message;
          for (const auto& [key, value] : record.fields) text_ += " " + key + "=" + value;
          text_ += "\n";
        })) {}
  ~LogCapture() { core::remove_log_tap(id_); }
  std::string text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
  int id_;
};

class PutFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("upload-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    policy_.backoff = {.initial = 1000ms, .cap = 60s};
    policy_.uniform01 = [] { return 0.5; };  // no jitter: delays are exact
    policy_.sleep = [this](std::chrono::milliseconds delay) { delays_.push_back(delay); };
    policy_.connect_timeout = 2s;
    policy_.idle_timeout = 5s;
  }
  void TearDown() override {
    fs::remove_all(dir_);
    EXPECT_THAT(log_.text(), Not(HasSubstr("SECRETSIG")));
  }

  // A file of n pseudo-random bytes; returns its SHA-256 (hex).
  std::string make_file(std::size_t n) {
    std::string data(n, '\0');
    std::uint32_t x = 2463534242u;
    for (char& c : data) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    std::ofstream(file(), std::ios::binary) << data;
    return crypto::sha256_hex(
        std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  }
  fs::path file() const { return dir_ / "run.blob"; }

  UploadRequest request(const std::string& base) const {
    return {.presigned_put_url = base + "/bucket/agent/run.blob" + std::string(kQuery),
            .expires_at_ms = 0,
            .file = file()};
  }
  static std::string http_base(const TestHttpServer& server) {
    return "http://127.0.0.1:" + std::to_string(server.port());
  }
  static void expect_no_secret(const UploadOutcome& outcome) {
    EXPECT_THAT(outcome.error, Not(HasSubstr("SECRETSIG")));
    EXPECT_THAT(outcome.error, Not(HasSubstr("X-Amz-Credential")));
  }

  LogCapture log_;
  fs::path dir_;
  UploadPolicy policy_;
  std::vector<std::chrono::milliseconds> delays_;
};

TEST_F(PutFileTest, UploadsTheFileWithADefiniteLengthAndReturnsTheEtag) {
  const std::size_t size = (1 << 20) + 12345;  // several chunks
  const std::string sha = make_file(size);
  TestHttpServer server({Reply{.headers = {{"ETag", "\"9b2cf535f27731c974343645a3985328\""}}}});
  std::uint64_t last_progress = 0;
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_, {},
                                         [&](std::uint64_t sent) { last_progress = sent; });
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(outcome.last_http_status, 200);
  EXPECT_EQ(outcome.etag, "9b2cf535f27731c974343645a3985328");
  EXPECT_EQ(last_progress, size);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& req = requests[0];
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.target, "/bucket/agent/run.blob" + std::string(kQuery));
  EXPECT_EQ(req.header("content-length"), std::to_string(size));
  EXPECT_EQ(req.header("content-type"), "application/octet-stream");
  EXPECT_EQ(req.header("transfer-encoding"), std::nullopt);  // S3 answers chunked with 411
  EXPECT_EQ(req.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_THAT(req.header("user-agent").value_or(""), StartsWith("backupy-agent/"));
  EXPECT_EQ(req.body_bytes, size);
  EXPECT_EQ(req.body_sha256, sha);
  EXPECT_TRUE(delays_.empty());
}

TEST_F(PutFileTest, EmptyFileIsOnePutWithContentLengthZero) {
  make_file(0);
  TestHttpServer server({Reply{}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("content-length"), "0");
}

TEST_F(PutFileTest, RetriesServerErrorsWithGrowingBackoff) {
  const std::string sha = make_file(100000);
  TestHttpServer server({{.status = 500}, {.status = 502}, {.status = 200}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 3u);
  EXPECT_EQ(delays_, (std::vector<std::chrono::milliseconds>{1000ms, 2000ms}));
  ASSERT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.requests()[2].body_sha256, sha);
}

TEST_F(PutFileTest, JitterStaysWithinItsBounds) {
  make_file(10);
  TestHttpServer server({{.status = 500}, {.status = 500}, {.status = 200}});
  policy_.uniform01 = [] { return 0.0; };  // lowest jitter: -20 %
  ASSERT_TRUE(put_file(request(http_base(server)), policy_).ok);
  EXPECT_EQ(delays_, (std::vector<std::chrono::milliseconds>{800ms, 1600ms}));
}

TEST_F(PutFileTest, HonoursRetryAfterCappedAtTheBackoffCap) {
  make_file(1000);
  TestHttpServer server({Reply{.status = 503, .headers = {{"Retry-After", "1"}}},
                         {.status = 429, .headers = {{"Retry-After", "120"}}},
                         {.status = 200}});
  policy_.backoff = {.initial = 250ms, .cap = 5s};
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 3u);
  EXPECT_EQ(delays_, (std::vector<std::chrono::milliseconds>{1000ms, 5000ms}));
}

TEST_F(PutFileTest, RetriesRequestTimeout408) {
  make_file(1000);
  TestHttpServer server({{.status = 408}, {.status = 200}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 2u);
}

TEST_F(PutFileTest, RetriesAConnectionResetMidBody) {
  const std::size_t size = 4 << 20;
  const std::string sha = make_file(size);
  TestHttpServer server({{.kind = Reply::Kind::reset_mid_body}, {.status = 200}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 2u);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_LT(server.requests()[0].body_bytes, size);
  EXPECT_EQ(server.requests()[1].body_bytes, size);
  EXPECT_EQ(server.requests()[1].body_sha256, sha);
}

TEST_F(PutFileTest, AStalledServerTimesOutAndIsRetried) {
  make_file(5000);
  TestHttpServer server({{.kind = Reply::Kind::stall}, {.kind = Reply::Kind::stall}});
  policy_.idle_timeout = 300ms;
  policy_.max_attempts = 2;
  const auto started = std::chrono::steady_clock::now();
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 2u);
  const std::string why =
      "no response from 127.0.0.1:" + std::to_string(server.port()) + ": no progress for 300ms";
  EXPECT_EQ(outcome.error, "upload failed after 2 attempts: first: " + why + ", last: " + why);
}

TEST_F(PutFileTest, StallThenSuccess) {
  make_file(5000);
  TestHttpServer server({{.kind = Reply::Kind::stall}, {.status = 200}});
  policy_.idle_timeout = 300ms;
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.attempts, 2u);
}

TEST_F(PutFileTest, ForbiddenIsNotRetriedAndNamesTheS3ErrorCode) {
  make_file(3 << 20);
  const std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated does not match</Message>"
      "<SignatureProvided>SECRETSIG</SignatureProvided></Error>";
  TestHttpServer server({Reply{.kind = Reply::Kind::respond_early, .status = 403, .body = xml}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(outcome.last_http_status, 403);
  EXPECT_EQ(outcome.error, "http 403 (SignatureDoesNotMatch)");
  EXPECT_EQ(server.connections(), 1);
  EXPECT_TRUE(delays_.empty());
  expect_no_secret(outcome);
}

TEST_F(PutFileTest, BadRequestWithoutXmlNamesTheStatus) {
  make_file(10);
  TestHttpServer server({Reply{.status = 400}});
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(outcome.error, "http 400 Scripted");
}

TEST_F(PutFileTest, GivesUpAfterMaxAttemptsNamingFirstAndLastFailure) {
  make_file(10);
  TestHttpServer server({{.status = 500}, {.status = 500}, {.status = 503}});
  policy_.max_attempts = 3;
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 3u);
  EXPECT_EQ(outcome.last_http_status, 503);
  EXPECT_EQ(outcome.error,
            "upload failed after 3 attempts: first: http 500 Scripted, last: http 503 Scripted");
  EXPECT_EQ(delays_.size(), 2u);
  expect_no_secret(outcome);
}

TEST_F(PutFileTest, ConnectionRefusedIsRetried) {
  make_file(10);
  std::uint16_t port = 0;
  {
    TestHttpServer gone({Reply{}});
    port = gone.port();
  }
  policy_.max_attempts = 2;
  const UploadOutcome outcome =
      put_file(request("http://127.0.0.1:" + std::to_string(port)), policy_);
  EXPECT_EQ(outcome.attempts, 2u);
  EXPECT_THAT(outcome.error, HasSubstr("first: cannot connect to 127.0.0.1:" +
                                       std::to_string(port) + ": Connection refused"));
  expect_no_secret(outcome);
}

TEST_F(PutFileTest, ExpiredUrlIsRefusedWithoutARequest) {
  make_file(10);
  TestHttpServer server({Reply{}});
  UploadRequest req = request(http_base(server));
  req.expires_at_ms = 1767225600000;  // 2026-01-01T00:00:00Z
  policy_.now_ms = [] { return std::uint64_t{1767225600001}; };
  const UploadOutcome outcome = put_file(req, policy_);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 0u);
  EXPECT_EQ(outcome.error, "upload URL expired at 2026-01-01T00:00:00.000Z");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(PutFileTest, ExpiryIsCheckedBeforeEachRetry) {
  make_file(10);
  TestHttpServer server({Reply{.status = 500}});
  UploadRequest req = request(http_base(server));
  req.expires_at_ms = 1767225600000;
  std::uint64_t now = req.expires_at_ms - 500;
  policy_.now_ms = [&] { return now; };
  policy_.sleep = [&](std::chrono::milliseconds delay) { now += delay.count(); };
  const UploadOutcome outcome = put_file(req, policy_);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(outcome.error,
            "upload URL expired at 2026-01-01T00:00:00.000Z before attempt 2; last failure: "
            "http 500 Scripted");
}

TEST_F(PutFileTest, ARetryUsesCredentialsRefreshedMeanwhile) {
  make_file(10);
  TestHttpServer server({Reply{.status = 500}, Reply{.status = 200}});
  UploadRequest req = request(http_base(server));
  req.expires_at_ms = 1767225600000;
  std::uint64_t now = req.expires_at_ms - 500;
  policy_.now_ms = [&] { return now; };
  policy_.sleep = [&](std::chrono::milliseconds delay) { now += delay.count(); };
  int refreshes = 0;
  // The first URL expires during the backoff; the control plane re-sent RunBackup.
  const UploadOutcome outcome = put_file(req, policy_, {}, {}, [&](UploadRequest& current) {
    ++refreshes;
    current.presigned_put_url =
        http_base(server) + "/bucket/agent/run.blob?X-Amz-Signature=SECRETSIG2";
    current.expires_at_ms = now + 60000;
    return true;
  });
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(refreshes, 1);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(server.requests()[1].target, "/bucket/agent/run.blob?X-Amz-Signature=SECRETSIG2");
}

TEST_F(PutFileTest, RefreshedCredentialsAreCheckedLikeTheFirst) {
  make_file(10);
  TestHttpServer server({Reply{.status = 500}});
  const UploadOutcome outcome =
      put_file(request(http_base(server)), policy_, {}, {}, [](UploadRequest& current) {
        current.presigned_put_url = "http://backups.example.com/b/k?X-Amz-Signature=SECRETSIG";
        return true;
      });
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_THAT(outcome.error, HasSubstr("refusing to upload to http://backups.example.com/b/k"));
  expect_no_secret(outcome);
}

TEST_F(PutFileTest, FileOverTheLimitIsRefusedWithoutARequest) {
  make_file(2000);
  TestHttpServer server({Reply{}});
  policy_.max_object_bytes = 1000;
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_);
  EXPECT_EQ(outcome.attempts, 0u);
  EXPECT_EQ(outcome.error, "object is 2000 bytes; single-PUT uploads are limited to 1000 bytes");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(PutFileTest, TheDefaultLimitIsFiveGibibytes) {
  make_file(0);
  fs::resize_file(file(), (5ull << 30) + 1);  // sparse: costs no disk
  const UploadOutcome outcome = put_file(request("http://127.0.0.1:1"), policy_);
  EXPECT_EQ(outcome.attempts, 0u);
  EXPECT_EQ(outcome.error, "object is 5368709121 bytes; single-PUT uploads are limited to 5 GiB");
}

TEST_F(PutFileTest, MissingSpoolFileIsRefused) {
  const UploadOutcome outcome = put_file(request("http://127.0.0.1:1"), policy_);
  EXPECT_EQ(outcome.attempts, 0u);
  EXPECT_EQ(outcome.error,
            "cannot read spool file " + file().string() + ": No such file or directory");
}

TEST_F(PutFileTest, PlainHttpToANonLoopbackHostIsRefused) {
  make_file(10);
  const UploadOutcome outcome = put_file(request("http://s3.example.com"), policy_);
  EXPECT_EQ(outcome.attempts, 0u);
  EXPECT_EQ(outcome.error,
            "refusing to upload to http://s3.example.com/bucket/agent/run.blob without TLS: plain "
            "http is allowed only to loopback hosts unless insecure uploads are enabled");
}

TEST_F(PutFileTest, CancellationMidUploadReturnsPromptly) {
  make_file(1 << 20);
  TestHttpServer server({Reply{.kind = Reply::Kind::stall}});
  policy_.idle_timeout = 30s;
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_, stop.get_token());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_FALSE(outcome.ok);
  EXPECT_TRUE(outcome.cancelled);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(outcome.error, "upload to " + http_base(server) + "/bucket/agent/run.blob cancelled");
}

TEST_F(PutFileTest, CancellationInterruptsTheWaitBetweenAttempts) {
  make_file(10);
  TestHttpServer server({Reply{.status = 500}});
  policy_.sleep = nullptr;  // the real, interruptible wait
  policy_.backoff = {.initial = 60s, .cap = 60s};
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(300ms);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  const UploadOutcome outcome = put_file(request(http_base(server)), policy_, stop.get_token());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(outcome.cancelled);
  EXPECT_EQ(outcome.attempts, 1u);
}

TEST_F(PutFileTest, UploadsOverTlsWithTheConfiguredCa) {
  const std::string sha = make_file(300000);
  const fs::path pki = test_support::test_pki();
  TestHttpServer server({Reply{.headers = {{"ETag", "\"abc\""}}}}, pki);
  policy_.ca_file = (pki / "ca.crt").string();
  const UploadOutcome outcome =
      put_file(request("https://localhost:" + std::to_string(server.port())), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.etag, "abc");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].header("host"), "localhost:" + std::to_string(server.port()));
  EXPECT_EQ(server.requests()[0].body_sha256, sha);
}

TEST_F(PutFileTest, AnUntrustedCertificateIsNotRetried) {
  make_file(10);
  const fs::path pki = test_support::test_pki();
  TestHttpServer server({Reply{}}, pki);  // its CA is not given to the uploader
  const UploadOutcome outcome =
      put_file(request("https://localhost:" + std::to_string(server.port())), policy_);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_THAT(outcome.error,
              StartsWith("TLS handshake with localhost:" + std::to_string(server.port()) +
                         " failed: certificate verify failed ("));
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(PutFileTest, UploadsThroughTheHttpsProxyTunnel) {
  const std::string sha = make_file(200000);
  const fs::path pki = test_support::test_pki();
  TestHttpServer server({Reply{}}, pki);
  test_support::TestConnectProxy proxy;
  policy_.ca_file = (pki / "ca.crt").string();
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  policy_.env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "HTTPS_PROXY") return proxy_url;
    return std::nullopt;
  };
  const std::string authority = "localhost:" + std::to_string(server.port());
  const UploadOutcome outcome = put_file(request("https://" + authority), policy_);
  ASSERT_TRUE(outcome.ok) << outcome.error;
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_THAT(proxy.requests()[0], StartsWith("CONNECT " + authority + " HTTP/1.1\r\n"));
  EXPECT_THAT(proxy.requests()[0], Not(HasSubstr("SECRETSIG")));
  EXPECT_EQ(proxy.tunnels(), 1);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body_sha256, sha);
}

TEST_F(PutFileTest, ARefusedProxyLoginIsNotRetried) {
  make_file(10);
  test_support::TestConnectProxy proxy(407);
  policy_.env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "HTTPS_PROXY") return "http://127.0.0.1:" + std::to_string(proxy.port());
    return std::nullopt;
  };
  const UploadOutcome outcome = put_file(request("https://s3.example.com"), policy_);
  EXPECT_EQ(outcome.attempts, 1u);
  EXPECT_EQ(outcome.error, "proxy 127.0.0.1:" + std::to_string(proxy.port()) +
                               " refused CONNECT to s3.example.com:443: HTTP 407 Proxy "
                               "Authentication Required (check the proxy credentials)");
}

}  // namespace
}  // namespace backupy::upload
