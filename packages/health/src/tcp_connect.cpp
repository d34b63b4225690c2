#include "tcp_connect.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace backupy::health::detail {
namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct AddrInfoFree {
  void operator()(addrinfo* ai) const { ::freeaddrinfo(ai); }
};

// host:port or [v6]:port -> (host, port); false if malformed.
bool split_host_port(const std::string& text, std::string& host, std::string& port) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return std::stoi(port) > 0 && std::stoi(port) <= 65535;
}

}  // namespace

std::string tcp_connect(const std::string& host_port, std::chrono::milliseconds timeout,
                        std::stop_token stop) {
  std::string host, port;
  if (!split_host_port(host_port, host, port)) {
    return "invalid TCP target \"" + host_port + "\": expected host:port";
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  // getaddrinfo has no deadline of its own; resolver timeouts come from resolv.conf.
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw); rc != 0) {
    return "cannot resolve " + host + ": " + ::gai_strerror(rc);
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error = "no address for " + host;
  for (addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Fd sock(
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (sock.fd < 0) {
      last_error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    if (::connect(sock.fd, ai->ai_addr, ai->ai_addrlen) == 0) return "";
    if (errno != EINPROGRESS) {
      last_error = "connect to " + host_port + ": " + std::strerror(errno);
      continue;
    }
    // Poll in short slices so a stop request ends the wait promptly.
    for (;;) {
      if (stop.stop_requested()) return "cancelled";
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return "connect to " + host_port + " timed out after " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
               " s";
      }
      pollfd pfd{sock.fd, POLLOUT, 0};
      int slice = static_cast<int>(std::min<long long>(left.count(), 100));
      int rc = ::poll(&pfd, 1, slice);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) return std::string("poll: ") + std::strerror(errno);
      if (rc == 0) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) return "";
      last_error = "connect to " + host_port + ": " + std::strerror(err);
      break;
    }
  }
  return last_error;
}

}  // namespace backupy::health::detail
