#include "backupy/stream/copy.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace backupy::stream {

void copy_fd_to_sink(int fd, ByteSink& sink, std::size_t buffer) {
  if (buffer == 0) throw std::invalid_argument("copy buffer size must be > 0");
  std::vector<std::uint8_t> chunk(buffer);
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n > 0) {
      sink.write(std::span(chunk.data(), static_cast<std::size_t>(n)));
      continue;
    }
    if (n == 0) return;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, -1) < 0 && errno != EINTR) {
        throw std::system_error(errno, std::generic_category(),
                                "cannot poll fd " + std::to_string(fd));
      }
      continue;
    }
    throw std::system_error(errno, std::generic_category(), "cannot read fd " + std::to_string(fd));
  }
}

}  // namespace backupy::stream
