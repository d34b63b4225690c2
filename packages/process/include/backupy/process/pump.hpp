#pragma once
// Drives a Child to completion on the calling (worker) thread: reads its
// stdout and stderr with poll(), hands the bytes to callbacks, and enforces a
// deadline and a stop token by killing the child's whole process group.
//
// Backpressure: on_stdout runs synchronously; while it blocks (a slow
// compressor, a full disk budget) the child's pipe fills and the child blocks
// in write(). Memory stays bounded by one read buffer.
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>

#include "backupy/process/child.hpp"

namespace backupy::process {

struct PumpOptions {
  // Wall-clock budget from the call; nullopt = none.
  std::optional<std::chrono::milliseconds> timeout;
  // After the group got SIGTERM (stop or timeout), SIGKILL follows after this.
  std::chrono::milliseconds kill_grace{2000};
  // After the direct child exited on its own, how long to keep reading until
  // both pipes reach EOF. Output written late by a grandchild (`(sleep 1;
  // echo done) &`) is still collected; but a background job that keeps the
  // pipe open (`sh -c "sleep 100 &"`) would otherwise hold pump() for its whole
  // life, so once this window has passed the group gets SIGKILL.
  std::chrono::milliseconds drain_after_exit{2000};
  std::function<void(std::span<const char>)> on_stdout;  // empty: discard
  std::function<void(std::span<const char>)> on_stderr;  // empty: discard
};

struct PumpResult {
  enum class Ending { exited, timed_out, stopped };
  Ending ending = Ending::exited;
  ExitStatus status;  // always filled: the child is reaped before pump() returns
  bool ok() const { return ending == Ending::exited && status.success(); }
};

// Returns once the child has exited and both pipes reached EOF (or, after a
// kill, once the child is reaped: grandchildren holding the pipe open do not
// keep pump() waiting, they were killed with the group). In detail:
//  - exited on its own: read until EOF on both pipes, at most drain_after_exit;
//    then SIGKILL to the group if a pipe is still open. Background jobs that
//    let go of the pipes (`daemon >/dev/null 2>&1 &`) are left alone: the
//    operator detached them on purpose.
//  - stop or timeout: SIGTERM to the group; SIGKILL after kill_grace, or as
//    soon as the direct child has gone and the pipes reached EOF (stragglers
//    were told to stop; none outlives pump()).
// The direct child is reaped only at the very end, so its pid (the group id)
// cannot be reused while pump() may still signal the group. If a callback
// throws, the group is killed (SIGKILL), the child reaped, and the exception
// propagates. While a callback runs, the deadline and the stop token wait.
PumpResult pump(Child& child, const PumpOptions& options, std::stop_token stop = {});

}  // namespace backupy::process
