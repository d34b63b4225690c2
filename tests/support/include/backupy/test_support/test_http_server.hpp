#pragma once
// A scripted HTTP/1.1 (or HTTPS) server on 127.0.0.1 for upload tests: plain sockets and
// OpenSSL on one thread, one connection at a time (the uploader opens one per attempt).
// It records every request head and a SHA-256 of the body it received, and answers the
// n-th connection with script[n] (the last entry repeats).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace backupy::test_support {

struct Reply {
  enum class Kind {
    respond,         // read the whole body, then answer
    respond_early,   // answer right after the head, before the body (then drain it)
    reset_mid_body,  // read half the body, then reset the connection (RST)
    stall,           // read the whole body and never answer (until the client gives up)
  };
  Kind kind = Kind::respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Send the body with Transfer-Encoding: chunked (64 KiB chunks) instead of a Content-Length:
  // a client cannot know its size up front.
  bool chunked = false;
};

struct RecordedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::uint64_t body_bytes = 0;
  std::string body_sha256;  // hex, of the bytes received
  std::string body;         // the bytes received, when the server keeps bodies
  // The value of the named header (lower-case name), if present.
  std::optional<std::string> header(const std::string& name) const;
};

class TestHttpServer {
 public:
  // tls_dir: serve HTTPS with <dir>/server.crt and server.key (the test PKI).
  explicit TestHttpServer(std::vector<Reply> script,
                          std::optional<std::filesystem::path> tls_dir = std::nullopt);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::vector<RecordedRequest> requests() const;
  int connections() const { return connections_.load(); }
  // Record request bodies in full (for tests that restore what was uploaded).
  void keep_bodies(bool keep) { keep_bodies_ = keep; }

 private:
  struct Conn;
  void serve();
  void handle(Conn& conn, const Reply& reply);

  std::vector<Reply> script_;
  void* tls_ctx_ = nullptr;  // SSL_CTX*
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<bool> keep_bodies_{false};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

}  // namespace backupy::test_support
