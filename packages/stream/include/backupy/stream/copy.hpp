#pragma once
// Pumps a file descriptor (a dump process's stdout, an input file) into a sink.
#include <cstddef>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::stream {

inline constexpr std::size_t kDefaultCopyBuffer = 1024 * 1024;

// Reads fd until EOF and writes every chunk into sink; retries on EINTR and
// waits (poll) on EAGAIN, so a non-blocking pipe works too. Does not finish
// the sink and does not close fd: the caller decides whether the stream is
// complete (e.g. only after the dump process exited successfully). Throws
// std::system_error on a read error; exceptions from the sink propagate.
// buffer must be > 0; it is allocated once per call.
void copy_fd_to_sink(int fd, ByteSink& sink, std::size_t buffer = kDefaultCopyBuffer);

}  // namespace backupy::stream
