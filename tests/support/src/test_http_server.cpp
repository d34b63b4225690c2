#include "backupy/test_support/test_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <sstream>
#include <stdexcept>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::test_support {

std::optional<std::string> RecordedRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

// One accepted connection: blocking socket, optional TLS, reads that give up when the
// server is stopping (polled every 50 ms so that the destructor never hangs).
struct TestHttpServer::Conn {
  int fd = -1;
  SSL* ssl = nullptr;
  const std::atomic<bool>* stopping = nullptr;
  std::string pending;  // bytes read past the head

  ~Conn() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }

  // > 0 bytes, 0 at EOF/error/stop.
  long read_some(char* buf, std::size_t n) {
    while (!(ssl && SSL_pending(ssl) > 0)) {
      if (stopping->load()) return 0;
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r < 0) return 0;
      if (r > 0) break;
    }
    if (ssl) {
      const int got = SSL_read(ssl, buf, static_cast<int>(n));
      return got > 0 ? got : 0;
    }
    const ssize_t got = ::recv(fd, buf, n, 0);
    return got > 0 ? got : 0;
  }

  void write_all(const std::string& data) {
    if (ssl) {
      SSL_write(ssl, data.data(), static_cast<int>(data.size()));
      return;
    }
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
};

TestHttpServer::TestHttpServer(std::vector<Reply> script,
                               std::optional<std::filesystem::path> tls_dir)
    : script_(std::move(script)) {
  if (script_.empty()) script_.push_back({});
  if (tls_dir) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(ctx, (*tls_dir / "server.crt").c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, (*tls_dir / "server.key").c_str(), SSL_FILETYPE_PEM) !=
            1) {
      SSL_CTX_free(ctx);
      throw std::runtime_error("test server: cannot load the test PKI");
    }
    tls_ctx_ = ctx;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("test server: cannot listen");
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

TestHttpServer::~TestHttpServer() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
  if (tls_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
}

std::vector<RecordedRequest> TestHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void TestHttpServer::serve() {
  // SSL_write() writes with write(2): a client that hangs up mid-answer (a download it
  // aborted) would raise SIGPIPE and kill the test. Blocked on this thread only, the write
  // fails with EPIPE instead.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    Conn conn;
    conn.fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn.fd < 0) continue;
    conn.stopping = &stopping_;
    const int index = connections_++;
    if (tls_ctx_) {
      conn.ssl = SSL_new(static_cast<SSL_CTX*>(tls_ctx_));
      SSL_set_fd(conn.ssl, conn.fd);
      if (SSL_accept(conn.ssl) != 1) continue;  // e.g. the client refused our certificate
    }
    const auto at = std::min<std::size_t>(static_cast<std::size_t>(index), script_.size() - 1);
    handle(conn, script_[at]);
  }
}

void TestHttpServer::handle(Conn& conn, const Reply& reply) {
  std::string head;
  char buf[65536];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const long n = conn.read_some(buf, sizeof buf);
    if (n == 0) return;
    head.append(buf, static_cast<std::size_t>(n));
  }
  const auto head_end = head.find("\r\n\r\n") + 4;
  std::string body_start = head.substr(head_end);
  head.resize(head_end);

  RecordedRequest request;
  const auto first_line_end = head.find("\r\n");
  const std::string first = head.substr(0, first_line_end);
  request.method = first.substr(0, first.find(' '));
  request.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
  for (std::size_t pos = first_line_end + 2; pos < head.size() - 2;) {
    const auto end = head.find("\r\n", pos);
    const std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers.emplace_back(std::move(name), std::move(value));
  }
  const std::uint64_t length =
      request.header("content-length") ? std::stoull(*request.header("content-length")) : 0;

  auto respond = [&] {
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " Scripted\r\n";
    for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
    if (!reply.chunked) {
      out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
      return conn.write_all(out);
    }
    out += "Transfer-Encoding: chunked\r\n\r\n";
    constexpr std::size_t kChunk = 64 * 1024;
    for (std::size_t at = 0; at < reply.body.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, reply.body.size() - at);
      std::ostringstream size;
      size << std::hex << n;
      out += size.str() + "\r\n" + reply.body.substr(at, n) + "\r\n";
    }
    out += "0\r\n\r\n";
    conn.write_all(out);
  };
  if (reply.kind == Reply::Kind::respond_early) respond();

  crypto::Sha256 hash;
  const std::uint64_t want = reply.kind == Reply::Kind::reset_mid_body ? length / 2 : length;
  auto take = [&](const char* data, std::size_t n) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, want - request.body_bytes));
    hash.update(std::span(reinterpret_cast<const std::uint8_t*>(data), n));
    if (keep_bodies_) request.body.append(data, n);
    request.body_bytes += n;
  };
  take(body_start.data(), body_start.size());
  while (request.body_bytes < want) {
    const long n = conn.read_some(buf, sizeof buf);
    if (n == 0) break;
    take(buf, static_cast<std::size_t>(n));
  }
  const auto digest = hash.finish();
  request.body_sha256 = core::to_hex(std::span<const std::uint8_t>(digest));
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  switch (reply.kind) {
    case Reply::Kind::respond: respond(); break;
    case Reply::Kind::respond_early: break;
    case Reply::Kind::reset_mid_body: {
      linger hard{1, 0};  // close() now sends RST
      ::setsockopt(conn.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      if (conn.ssl) {
        SSL_free(conn.ssl);
        conn.ssl = nullptr;
      }
      return;
    }
    case Reply::Kind::stall:
      while (conn.read_some(buf, sizeof buf) > 0) {
      }
      return;
  }
  // Let the client close first, as a server with lingering close would.
  while (conn.read_some(buf, sizeof buf) > 0) {
  }
}

}  // namespace backupy::test_support
