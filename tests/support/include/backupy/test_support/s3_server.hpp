#pragma once
// A local S3 for integration tests, and the other Node test tools in tests/support/node
// (installed by scripts/setup.sh: npm ci from the committed package-lock.json).
//
// S3Server runs s3rver (npm s3rver@3.7.1) on 127.0.0.1 in a private temp directory, with one
// bucket. s3rver stores objects and accepts SigV4 query-presigned URLs, but it does NOT verify
// signatures: it only checks that the X-Amz-* parameters are present, that the credential's
// access key id is "S3RVER" and that X-Amz-Date + X-Amz-Expires lies in the future. So
// presigned_put_url() produces a syntactically realistic URL whose X-Amz-Signature is 64 random
// hex digits, NOT a valid signature (real SigV4 signing is tested elsewhere). Each URL gets its
// own random signature, so tests can check that it never leaks into messages or logs.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backupy/test_support/log_watcher.hpp"
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::test_support {

// The node binary found at configure time (tests/support/CMakeLists.txt).
std::filesystem::path node_binary();
// tests/support/node in the source tree.
std::filesystem::path node_tools_dir();
// The path of a script in tests/support/node (e.g. "s3rver_main.js"). Throws std::runtime_error
// naming the fix (scripts/setup.sh) when node, the script or node_modules is missing.
std::filesystem::path node_tool(const std::string& script);

// Runs tests/support/node/decrypt_blob.js, the independent (Node crypto) reader of blob
// format v1: writes the decrypted, still-compressed stream to out. exit_code 0 on success,
// 1 with a one-line message in err otherwise.
CommandResult decrypt_blob_with_node(const std::string& key_hex, const std::filesystem::path& in,
                                     const std::filesystem::path& out);

// The path of an executable found on PATH (e.g. "curl", "zstd"); throws if there is none.
std::filesystem::path find_executable(const std::string& name);

class S3Server {
 public:
  // Starts s3rver and waits (up to 20 s) until it listens; throws std::runtime_error with its
  // stderr if it does not.
  explicit S3Server(std::string bucket = "backups");
  // SIGTERM, then SIGKILL after 2 s; the data directory is removed.
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:N"
  const std::string& bucket() const { return bucket_; }
  // s3rver's storage directory (<dir>/<bucket>/<key>._S3rver_object: an s3rver detail).
  const std::filesystem::path& data_dir() const { return data_dir_; }

  // endpoint/bucket/key, key segments percent-encoded; unsigned.
  std::string object_url(const std::string& key) const;
  // A SigV4-shaped presigned PUT URL for key: X-Amz-Algorithm=AWS4-HMAC-SHA256,
  // X-Amz-Credential=S3RVER/<date>/us-east-1/s3/aws4_request, X-Amz-Date=now,
  // X-Amz-Expires=expires_in, X-Amz-SignedHeaders=host, X-Amz-Signature=<64 random hex>.
  // Not a valid signature (see above).
  std::string presigned_put_url(const std::string& key,
                                std::chrono::seconds expires_in = std::chrono::hours(1)) const;

  // The stored object, fetched with a plain GET (curl); nullopt if it does not exist (404).
  // Throws std::runtime_error for any other failure.
  std::optional<std::string> read_object(const std::string& key) const;

  Process& process() { return *process_; }

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::string bucket_;
  std::unique_ptr<Process> process_;
  int port_ = 0;
};

// The X-Amz-Signature value of a presigned URL ("" if it has none).
std::string presigned_signature(const std::string& url);

namespace detail {
// Waits until a Node tool printed {"port":N} on its stdout; throws (with its stderr) if the
// process exits first or the timeout passes.
int wait_for_port(Process& process, LogWatcher& stdout_log, const std::string& what,
                  std::chrono::milliseconds timeout);
// SIGTERM, wait up to grace, then SIGKILL.
void stop_process(Process& process, std::chrono::milliseconds grace);
std::string read_file(const std::filesystem::path& path);
}  // namespace detail

}  // namespace backupy::test_support
