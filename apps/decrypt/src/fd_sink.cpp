#include "fd_sink.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace backupy::decrypt {

void FdSink::write(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n >= 0) {
      data = data.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // The caller's stdout may be non-blocking (shared with a shell that set it).
      pollfd pfd{.fd = fd_, .events = POLLOUT, .revents = 0};
      if (::poll(&pfd, 1, -1) >= 0 || errno == EINTR) continue;
    }
    throw std::system_error(errno, std::generic_category(), "cannot write to " + name_);
  }
}

}  // namespace backupy::decrypt
