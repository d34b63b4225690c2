#pragma once
// One blocking stream connection to a unix socket, used for one HTTP exchange
// (and, after an upgrade, the exec stream). poll() bounds every wait by a
// deadline when one is given; a stop request shuts the socket down
// (shutdown(2) wakes a thread blocked in poll/read on it, which close(2) would
// not do safely), so reads then see EOF and the caller checks the token.
// Errors are DockerError with the reason only ("connect: No such file or
// directory"); EngineClient adds the socket path and the request.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string_view>

#include "backupy/core/files.hpp"

namespace backupy::docker::detail {

using Clock = std::chrono::steady_clock;

class UnixConnection {
 public:
  // Connects (bounded by deadline); throws DockerError naming the errno text.
  UnixConnection(const std::filesystem::path& socket, Clock::time_point deadline,
                 std::stop_token stop);

  // Writes everything or throws (deadline, peer gone).
  void write_all(std::string_view data, std::optional<Clock::time_point> deadline);
  // Reads what is available (blocking until something is, EOF, or the
  // deadline); returns 0 at EOF, which includes a stop request.
  std::size_t read_some(std::span<char> buffer, std::optional<Clock::time_point> deadline);

 private:
  void wait(short events, std::optional<Clock::time_point> deadline, const char* what);

  core::UniqueFd fd_;
  // Declared after fd_: destroyed first, so the callback never sees a closed fd.
  std::optional<std::stop_callback<std::function<void()>>> on_stop_;
};

}  // namespace backupy::docker::detail
