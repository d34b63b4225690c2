#pragma once
// A real TCP listener on 127.0.0.1 (accepts into the kernel backlog; nobody reads), and a
// port where nothing listens, for the TCP and refused-connection cases.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace backupy::health::test {

class Listener {
 public:
  explicit Listener(bool listen_now = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listen_now && ::listen(fd_, 16) != 0) throw std::runtime_error("listen failed");
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A port that refuses connections: bound (so nobody else takes it) but not listening.
inline Listener closed_port() {
  return Listener(false);
}

}  // namespace backupy::health::test
