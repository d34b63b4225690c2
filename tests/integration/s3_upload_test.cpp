// Uploads of real backup blobs to a local S3 (s3rver, tests/support/node), directly and through
// a fault-injecting proxy: what the agent stores is byte-for-byte the spool file, an
// independent reader (Node crypto) plus the zstd CLI restore the original, every attempt is a
// plain PUT with a definite Content-Length, failures are retried or not as the contract says,
// and the presigned signature never shows up in errors or logs.
//
// s3rver does not verify SigV4 signatures (S3Server::presigned_put_url() makes a realistic but
// invalid one); signing is tested elsewhere.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/test_support/fault_proxy.hpp"
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/s3_server.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_data.hpp"
#include "backupy/upload/put_file.hpp"

namespace backupy::testing {
namespace {

using namespace std::chrono_literals;
using test_support::CommandResult;
using test_support::FaultProxy;
using test_support::Json;
using test_support::S3Server;
using test_support::TempDir;

constexpr std::array<std::uint8_t, 32> make_dek() {
  std::array<std::uint8_t, 32> dek{};
  for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<std::uint8_t>(0xA0 + 7 * i);
  return dek;
}
constexpr std::array<std::uint8_t, 32> kDek = make_dek();

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xf];
  }
  return out;
}

std::string md5_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_md5(), nullptr);
  return to_hex(digest, size);
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void spit(const std::filesystem::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// What one put_file() call returned and printed (core logging: JSON lines on stdout).
struct Upload {
  upload::UploadOutcome outcome;
  std::string log;
  std::vector<std::chrono::milliseconds> delays;  // waits between attempts
};

class S3Upload : public ::testing::Test {
 protected:
  // One s3rver and one backup blob for the whole suite (node start-up costs ~0.5 s).
  static void SetUpTestSuite() {
    try {
      server_ = std::make_unique<S3Server>("backups");
      work_ = std::make_unique<TempDir>("backupy-s3-upload");
      // ~3 MiB of dump-like text (compresses well) + 1 MiB of noise (does not): a blob of
      // several 1 MiB frames and a short last one.
      original_ =
          test_support::dump_like_text(3 << 20) + test_support::random_bytes((1 << 20) + 4321);
      spool_ = work_->path() / "backup.zst.enc";
      pipeline::PipelineOptions options;
      options.codec = compress::Codec::zstd;
      options.dek = kDek;
      options.spool_path = spool_;
      result_ = pipeline::run_pipeline(
          [](stream::ByteSink& sink) {
            constexpr std::size_t kPiece = 64 << 10;
            for (std::size_t at = 0; at < original_.size(); at += kPiece) {
              sink.write(std::string_view(original_).substr(at, kPiece));
            }
          },
          options);
      spool_bytes_ = slurp(spool_);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    server_.reset();
    work_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    ASSERT_TRUE(server_);
  }

  static std::string key() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("agents/agent-1/runs/") + info->name() + "/backup.zst.enc";
  }

  // Short backoff (Retry-After still honoured up to the 2 s cap), jitter pinned.
  static upload::UploadPolicy fast_policy() {
    upload::UploadPolicy policy;
    policy.max_attempts = 5;
    policy.backoff = net::BackoffPolicy{.initial = 5ms, .cap = 2s};
    policy.connect_timeout = 5s;
    policy.idle_timeout = 10s;
    policy.uniform01 = [] { return 0.5; };
    return policy;
  }

  // put_file() with stdout captured at debug level (so the debug "upload failed" line is
  // checked for secrets too) and the waits between attempts recorded (and really waited).
  static Upload upload(const std::string& url, upload::UploadPolicy policy) {
    Upload result;
    policy.sleep = [&result](std::chrono::milliseconds delay) {
      result.delays.push_back(delay);
      std::this_thread::sleep_for(delay);
    };
    upload::UploadRequest request;
    request.presigned_put_url = url;
    request.expires_at_ms = core::now_ms() + 3600 * 1000;
    request.file = spool_;
    const core::LogLevel level = core::log_level();
    core::set_log_level(core::LogLevel::debug);
    ::testing::internal::CaptureStdout();
    result.outcome = upload::put_file(request, policy);
    result.log = ::testing::internal::GetCapturedStdout();
    core::set_log_level(level);
    return result;
  }

  static void expect_no_signature(const std::string& url, const Upload& up,
                                  const std::string& other = "") {
    const std::string signature = test_support::presigned_signature(url);
    ASSERT_EQ(signature.size(), 64u) << "not a presigned URL";
    EXPECT_EQ(up.outcome.error.find(signature), std::string::npos) << up.outcome.error;
    EXPECT_EQ(up.log.find(signature), std::string::npos) << up.log;
    EXPECT_EQ(up.outcome.error.find("X-Amz-"), std::string::npos) << up.outcome.error;
    EXPECT_EQ(up.log.find("X-Amz-"), std::string::npos) << up.log;
    EXPECT_EQ(other.find(signature), std::string::npos) << other;
  }

  static void expect_stored_object_is_spool_file(const std::string& object_key) {
    const std::optional<std::string> stored = server_->read_object(object_key);
    ASSERT_TRUE(stored.has_value()) << object_key << " was not stored";
    ASSERT_EQ(stored->size(), spool_bytes_.size());
    EXPECT_TRUE(*stored == spool_bytes_) << "stored object differs from the spool file";
  }

  static inline std::unique_ptr<S3Server> server_;
  static inline std::unique_ptr<TempDir> work_;
  static inline std::string setup_error_;
  static inline std::string original_;
  static inline std::filesystem::path spool_;
  static inline std::string spool_bytes_;
  static inline pipeline::PipelineResult result_;
};

// A blob from the real pipeline goes up in one PUT, comes back byte-for-byte, and an
// independent reader (Node crypto, written from the format document) + `zstd -d` restore the
// original dump exactly.
TEST_F(S3Upload, PipelineBlobRoundTripsThroughS3AndIndependentDecryptor) {
  ASSERT_EQ(result_.compression, "zstd");
  ASSERT_EQ(result_.stored_bytes, spool_bytes_.size());
  ASSERT_GT(spool_bytes_.size(), (1u << 20) + 64) << "want a blob of several frames";

  const std::string url = server_->presigned_put_url(key(), 15min);
  const Upload up = upload(url, fast_policy());
  ASSERT_TRUE(up.outcome.ok) << up.outcome.error << "\n" << up.log;
  EXPECT_EQ(up.outcome.attempts, 1u);
  EXPECT_EQ(up.outcome.last_http_status, 200);
  EXPECT_EQ(up.outcome.etag, md5_hex(spool_bytes_));  // s3rver's ETag: MD5 of the body
  EXPECT_NE(up.log.find("upload complete"), std::string::npos) << up.log;
  expect_no_signature(url, up);

  expect_stored_object_is_spool_file(key());
  const std::filesystem::path fetched = work_->path() / "fetched.enc";
  spit(fetched, *server_->read_object(key()));

  const std::string dek_hex = to_hex(kDek.data(), kDek.size());
  const std::filesystem::path compressed = work_->path() / "restored.zst";
  const CommandResult decrypted =
      test_support::decrypt_blob_with_node(dek_hex, fetched, compressed);
  ASSERT_EQ(decrypted.exit_code, 0) << decrypted.err;
  const std::filesystem::path restored = work_->path() / "restored.sql";
  const CommandResult unzstd =
      test_support::run_command({test_support::find_executable("zstd").string(), "-d", "-q", "-f",
                                 compressed.string(), "-o", restored.string()},
                                {});
  ASSERT_EQ(unzstd.exit_code, 0) << unzstd.err;
  const std::string restored_bytes = slurp(restored);
  ASSERT_EQ(restored_bytes.size(), original_.size());
  EXPECT_TRUE(restored_bytes == original_) << "restored dump differs from the original";

  // The independent reader is not a pass-through: a flipped bit and a wrong key fail.
  std::string tampered = spool_bytes_;
  tampered[(1u << 20) + 100] ^= 0x01;  // inside frame 2
  spit(work_->path() / "tampered.enc", tampered);
  const CommandResult bad = test_support::decrypt_blob_with_node(
      dek_hex, work_->path() / "tampered.enc", work_->path() / "tampered.zst");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("frame 2: authentication failed"), std::string::npos) << bad.err;
  const CommandResult wrong_key = test_support::decrypt_blob_with_node(
      std::string(64, '0'), fetched, work_->path() / "wrong-key.zst");
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_NE(wrong_key.err.find("frame 1: authentication failed"), std::string::npos)
      << wrong_key.err;
}

// 500, 503 with Retry-After, a connection reset mid-body: retried, the fourth attempt lands.
// Every attempt is a PUT with a definite Content-Length, never chunked.
TEST_F(S3Upload, RetriesServerErrorsAndResetsWithDefiniteContentLength) {
  FaultProxy proxy(server_->endpoint(), {"500", "503:retry-after=1", "reset-after:65536", "pass"});
  const std::string url = server_->presigned_put_url(key());
  const Upload up = upload(proxy.via(url), fast_policy());
  ASSERT_TRUE(up.outcome.ok) << up.outcome.error << "\n" << up.log;
  EXPECT_EQ(up.outcome.attempts, 4u);
  EXPECT_EQ(up.outcome.last_http_status, 200);
  ASSERT_EQ(up.delays.size(), 3u);
  EXPECT_EQ(up.delays[1], 1000ms) << "Retry-After: 1 replaces the backoff delay";
  EXPECT_LT(up.delays[0], 100ms);
  EXPECT_LT(up.delays[2], 100ms);

  const std::vector<Json> requests = proxy.wait_for_requests(4, 5s);
  ASSERT_EQ(requests.size(), 4u) << proxy.raw_output();
  const std::vector<std::string> actions = {"500", "503:retry-after=1", "reset-after:65536",
                                            "pass"};
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const Json& r = requests[i];
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["action"], actions[i]);
    EXPECT_EQ(r["method"], "PUT");
    EXPECT_EQ(r["path"], "/backups/" + key());
    ASSERT_TRUE(r["content_length"].is_number());
    EXPECT_EQ(r["content_length"].get<std::uint64_t>(), spool_bytes_.size());
    EXPECT_TRUE(r["transfer_encoding"].is_null());
    EXPECT_EQ(r["content_type"], "application/octet-stream");
  }
  EXPECT_EQ(requests[0]["status"], 500);
  EXPECT_EQ(requests[1]["status"], 503);
  EXPECT_EQ(requests[2]["outcome"], "reset");
  EXPECT_GE(requests[2]["body_bytes_received"].get<std::uint64_t>(), 65536u);
  EXPECT_LT(requests[2]["body_bytes_received"].get<std::uint64_t>(), spool_bytes_.size());
  EXPECT_EQ(requests[3]["status"], 200);
  EXPECT_EQ(requests[3]["body_bytes_received"].get<std::uint64_t>(), spool_bytes_.size());

  expect_stored_object_is_spool_file(key());
  expect_no_signature(url, up, proxy.raw_output());
}

// 403 (a refused signature) ends the upload at once: one attempt, nothing stored.
TEST_F(S3Upload, Forbidden403EndsTheUploadWithoutRetry) {
  FaultProxy proxy(server_->endpoint(), {"403"});
  const std::string url = server_->presigned_put_url(key());
  const Upload up = upload(proxy.via(url), fast_policy());
  EXPECT_FALSE(up.outcome.ok);
  EXPECT_FALSE(up.outcome.cancelled);
  EXPECT_EQ(up.outcome.attempts, 1u);
  EXPECT_EQ(up.outcome.last_http_status, 403);
  EXPECT_NE(up.outcome.error.find("http 403 (AccessDenied)"), std::string::npos)
      << up.outcome.error;
  EXPECT_TRUE(up.delays.empty());

  std::this_thread::sleep_for(300ms);  // a retry, if any, would show up here
  const std::vector<Json> requests = proxy.wait_for_requests(1, 5s);
  ASSERT_EQ(requests.size(), 1u) << proxy.raw_output();
  EXPECT_EQ(requests[0]["status"], 403);
  EXPECT_FALSE(server_->read_object(key()).has_value());
  expect_no_signature(url, up, proxy.raw_output());
}

// A server that reads the request and never answers: the idle timeout ends the attempt, the
// retry succeeds.
TEST_F(S3Upload, StalledAttemptTimesOutAndIsRetried) {
  FaultProxy proxy(server_->endpoint(), {"stall"});
  const std::string url = server_->presigned_put_url(key());
  upload::UploadPolicy policy = fast_policy();
  policy.idle_timeout = 700ms;
  const Upload up = upload(proxy.via(url), policy);
  ASSERT_TRUE(up.outcome.ok) << up.outcome.error << "\n" << up.log;
  EXPECT_EQ(up.outcome.attempts, 2u);
  EXPECT_NE(up.log.find("upload attempt failed; retrying"), std::string::npos) << up.log;

  const std::vector<Json> requests = proxy.wait_for_requests(2, 5s);
  ASSERT_EQ(requests.size(), 2u) << proxy.raw_output();
  EXPECT_EQ(requests[0]["action"], "stall");
  EXPECT_EQ(requests[0]["outcome"], "client-closed");
  EXPECT_TRUE(requests[0]["status"].is_null());
  EXPECT_EQ(requests[1]["action"], "pass");
  EXPECT_EQ(requests[1]["status"], 200);
  expect_stored_object_is_spool_file(key());
  expect_no_signature(url, up, proxy.raw_output());
}

// Retry warnings, the final error and the proxy's own log name the object's path, never the
// query string that carries the presigned signature.
TEST_F(S3Upload, PresignedSignatureNeverAppearsInErrorsOrLogs) {
  FaultProxy proxy(server_->endpoint(), {"500", "429", "403"});
  const std::string url = server_->presigned_put_url(key());
  const Upload up = upload(proxy.via(url), fast_policy());
  ASSERT_FALSE(up.outcome.ok);
  EXPECT_EQ(up.outcome.attempts, 3u);
  EXPECT_EQ(up.outcome.last_http_status, 403);
  EXPECT_NE(up.outcome.error.find("after 3 attempts"), std::string::npos) << up.outcome.error;

  // The capture worked, and the log lines name the object (scheme://host:port/path only).
  EXPECT_NE(up.log.find("upload attempt failed; retrying"), std::string::npos) << up.log;
  EXPECT_NE(up.log.find("upload failed"), std::string::npos) << up.log;
  EXPECT_NE(up.log.find("/backups/" + key()), std::string::npos) << up.log;

  ASSERT_EQ(proxy.wait_for_requests(3, 5s).size(), 3u) << proxy.raw_output();
  const std::string proxy_log = proxy.raw_output();
  EXPECT_EQ(proxy_log.find("X-Amz-"), std::string::npos) << proxy_log;
  expect_no_signature(url, up, proxy.raw_output());
}

}  // namespace
}  // namespace backupy::testing
