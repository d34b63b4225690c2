#include "backupy/test_support/connect_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace backupy::test_support {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& text) {
  return send_all(fd, text.data(), text.size());
}

// Blocking connect to host:port; invalid Fd on failure.
Fd dial(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return Fd();
  Fd result;
  for (addrinfo* ai = found; ai != nullptr && !result; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd && ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0) result = std::move(fd);
  }
  ::freeaddrinfo(found);
  return result;
}

// "host:port" or "[v6]:port" -> host, port.
bool split_authority(const std::string& authority, std::string* host, std::string* port) {
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos) return false;
  *host = authority.substr(0, colon);
  *port = authority.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return !host->empty() && !port->empty();
}

}  // namespace

struct TestConnectProxy::State {
  int reply_status = 200;
  Fd listener;
  Fd stop_read;  // becomes readable (EOF) when stop_write is closed: wakes every poll
  Fd stop_write;
  std::uint16_t port = 0;
  std::thread acceptor;

  mutable std::mutex mutex;
  std::vector<std::thread> clients;
  std::vector<std::string> requests;
  int tunnels = 0;

  // Waits until fd is readable; false if the proxy is stopping.
  bool wait_readable(int fd) const {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_read.get(), POLLIN, 0}};
    while (true) {
      const int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      return n > 0 && fds[1].revents == 0;
    }
  }

  void accept_loop() {
    while (wait_readable(listener.get())) {
      Fd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) continue;
      std::lock_guard lock(mutex);
      clients.emplace_back([this, fd = std::move(client)]() mutable { serve(std::move(fd)); });
    }
  }

  void serve(Fd client) {
    std::string head;
    char buffer[16384];
    std::size_t end = std::string::npos;
    while ((end = head.find("\r\n\r\n")) == std::string::npos) {
      if (head.size() > 65536 || !wait_readable(client.get())) return;
      const ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
      if (n <= 0) return;
      head.append(buffer, static_cast<std::size_t>(n));
    }
    std::string early = head.substr(end + 4);  // bytes the client sent past the head
    head.resize(end + 4);
    {
      std::lock_guard lock(mutex);
      requests.push_back(head);
    }
    if (reply_status != 200) {
      send_all(client.get(), "HTTP/1.1 " + std::to_string(reply_status) +
                                 " Refused\r\nProxy-Authenticate: Basic realm=\"test\"\r\n"
                                 "Content-Length: 0\r\nConnection: close\r\n\r\n");
      ::shutdown(client.get(), SHUT_WR);
      return;
    }
    // "CONNECT authority HTTP/1.1"
    const std::size_t first_space = head.find(' ');
    const std::size_t second_space = head.find(' ', first_space + 1);
    std::string host, port;
    Fd upstream;
    if (head.starts_with("CONNECT ") && second_space != std::string::npos &&
        split_authority(head.substr(first_space + 1, second_space - first_space - 1), &host,
                        &port)) {
      upstream = dial(host, port);
    }
    if (!upstream) {
      send_all(client.get(), "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    {
      std::lock_guard lock(mutex);
      ++tunnels;
    }
    if (!send_all(client.get(), "HTTP/1.1 200 Connection established\r\n\r\n")) return;
    if (!early.empty() && !send_all(upstream.get(), early)) return;
    relay(client.get(), upstream.get());
  }

  // Copies both ways until both directions have ended or the proxy stops.
  void relay(int a, int b) const {
    bool a_open = true, b_open = true;
    char buffer[65536];
    while (a_open || b_open) {
      // A finished side is left out (-1): poll would keep reporting its hang-up.
      pollfd fds[3] = {
          {a_open ? a : -1, POLLIN, 0}, {b_open ? b : -1, POLLIN, 0}, {stop_read.get(), POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[2].revents != 0) return;
      for (int side = 0; side < 2; ++side) {
        if (fds[side].revents == 0) continue;
        const int from = side == 0 ? a : b;
        const int to = side == 0 ? b : a;
        const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
        if (n <= 0) {
          // Half-close: pass the EOF on, keep the other direction flowing.
          ::shutdown(to, SHUT_WR);
          (side == 0 ? a_open : b_open) = false;
          if (n < 0) return;
          continue;
        }
        if (!send_all(to, buffer, static_cast<std::size_t>(n))) return;
      }
    }
  }
};

TestConnectProxy::TestConnectProxy(int reply_status) : state_(std::make_shared<State>()) {
  state_->reply_status = reply_status;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("TestConnectProxy: pipe2 failed");
  state_->stop_read = Fd(pipe_fds[0]);
  state_->stop_write = Fd(pipe_fds[1]);

  state_->listener = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (!state_->listener ||
      ::bind(state_->listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(state_->listener.get(), 16) != 0 ||
      ::getsockname(state_->listener.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("TestConnectProxy: cannot listen on 127.0.0.1");
  }
  state_->port = ntohs(address.sin_port);
  state_->acceptor = std::thread([state = state_.get()] { state->accept_loop(); });
}

TestConnectProxy::~TestConnectProxy() {
  state_->stop_write.reset();
  state_->acceptor.join();
  // The acceptor has stopped, so no client thread can be added any more.
  for (std::thread& client : state_->clients) client.join();
}

std::uint16_t TestConnectProxy::port() const {
  return state_->port;
}

std::vector<std::string> TestConnectProxy::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

int TestConnectProxy::tunnels() const {
  std::lock_guard lock(state_->mutex);
  return state_->tunnels;
}

}  // namespace backupy::test_support
