#include "unix_connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "backupy/docker/engine_client.hpp"

namespace backupy::docker::detail {
namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

int remaining_ms(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

}  // namespace

UnixConnection::UnixConnection(const std::filesystem::path& socket, Clock::time_point deadline,
                               std::stop_token stop) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    throw DockerError("connect: socket path is empty or longer than " +
                      std::to_string(sizeof address.sun_path - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd_) throw DockerError("socket: " + errno_text(errno));
  // A unix-socket connect completes at once or fails with EAGAIN when the
  // daemon's backlog is full (there is no asynchronous completion to poll
  // for): retry briefly until the deadline.
  while (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) continue;
    if (errno != EAGAIN || Clock::now() >= deadline) {
      throw DockerError("connect: " + errno_text(errno));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int fd = fd_.get();
  on_stop_.emplace(std::move(stop), std::function<void()>([fd] { ::shutdown(fd, SHUT_RDWR); }));
}

void UnixConnection::wait(short events, std::optional<Clock::time_point> deadline,
                          const char* what) {
  for (;;) {
    pollfd p{.fd = fd_.get(), .events = events, .revents = 0};
    const int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready > 0) return;  // readable, writable, HUP or error: the next call tells which
    if (ready == 0) throw DockerError(std::string(what) + ": no progress before the timeout");
    if (errno != EINTR) throw DockerError(std::string(what) + ": poll: " + errno_text(errno));
  }
}

void UnixConnection::write_all(std::string_view data, std::optional<Clock::time_point> deadline) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a vanished daemon is an error here, never SIGPIPE for the agent.
    const ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait(POLLOUT, deadline, "send");
    } else if (n < 0 && errno != EINTR) {
      throw DockerError("send: " + errno_text(errno));
    }
  }
}

std::size_t UnixConnection::read_some(std::span<char> buffer,
                                      std::optional<Clock::time_point> deadline) {
  for (;;) {
    const ssize_t n = ::recv(fd_.get(), buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait(POLLIN, deadline, "receive");
    } else if (errno == ECONNRESET || errno == ENOTCONN) {
      return 0;  // reset by the daemon, or shut down by a stop request
    } else if (errno != EINTR) {
      throw DockerError("receive: " + errno_text(errno));
    }
  }
}

}  // namespace backupy::docker::detail
