#include "input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "failure.hpp"
#include "progress.hpp"

namespace backupy::decrypt {

Input open_input(const std::string& path, int stdin_fd) {
  Input input;
  if (path == "-") {
    input.fd = stdin_fd;
    input.name = "standard input";
    if (::isatty(stdin_fd)) {
      throw Failure(
          "refusing to read the blob from a terminal: redirect standard input or "
          "give --in FILE");
    }
  } else {
    input.owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!input.owned) throw Failure("cannot open " + path + ": " + std::strerror(errno));
    input.fd = input.owned.get();
    input.name = path;
  }
  struct stat info {};
  if (::fstat(input.fd, &info) == 0) {
    if (S_ISDIR(info.st_mode)) throw Failure("--in " + input.name + " is a directory");
    if (S_ISREG(info.st_mode)) input.size = static_cast<std::uint64_t>(info.st_size);
  }
  return input;
}

std::uint64_t pump(const Input& input, stream::ByteSink& sink, ProgressLine* progress) {
  // Large enough for few syscalls, small next to the reader's 1 MiB frame.
  std::vector<std::uint8_t> buffer(256 * 1024);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(input.fd, buffer.data(), buffer.size());
    if (n > 0) {
      sink.write(std::span(buffer.data(), static_cast<std::size_t>(n)));
      total += static_cast<std::uint64_t>(n);
      if (progress != nullptr) progress->update(total);
      continue;
    }
    if (n == 0) return total;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Standard input may be a non-blocking pipe inherited from the caller.
      pollfd pfd{.fd = input.fd, .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, -1) >= 0 || errno == EINTR) continue;
    }
    throw std::system_error(errno, std::generic_category(), "cannot read " + input.name);
  }
}

}  // namespace backupy::decrypt
