#include "backupy/process/pump.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "unique_fd.hpp"

namespace backupy::process {
namespace {

using Clock = std::chrono::steady_clock;
using detail::UniqueFd;

// One read buffer: the only memory pump() holds, whatever the child writes.
// 64 KiB is the default pipe capacity, so one read usually empties the pipe.
constexpr std::size_t kReadBuffer = 64 * 1024;
// Without a pidfd (kernel < 5.3) the child's exit is noticed by polling.
constexpr std::chrono::milliseconds kExitPollTick{20};

class Pump {
 public:
  Pump(Child& child, const PumpOptions& options, std::stop_token stop)
      : child_(child), options_(options), stop_(std::move(stop)), buffer_(kReadBuffer) {}

  PumpResult run() {
    try {
      return run_loop();
    } catch (...) {
      child_.kill_group(SIGKILL);
      child_.wait();
      throw;
    }
  }

 private:
  PumpResult run_loop() {
    const auto start = Clock::now();
    if (options_.timeout) deadline_ = start + *options_.timeout;
    // A pidfd turns "the child exited" into a poll() event: no busy ticks.
    // (The raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" and
    // does not link from C++.)
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, child_.pid(), 0)));
    // The stop callback runs on the requesting thread; it only wakes our poll().
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.valid()) throw std::system_error(errno, std::generic_category(), "pump: eventfd");
    const std::stop_callback on_stop(stop_, [this] {
      const std::uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    });

    while (!finished(Clock::now())) poll_once();

    // After a stop or timeout nobody in the group is meant to outlive us.
    if (ending_ != PumpResult::Ending::exited && !killed_) child_.kill_group(SIGKILL);
    child_.close_stdout();
    child_.close_stderr();
    PumpResult result;
    result.ending = ending_;
    result.status = child_.wait();
    return result;
  }

  bool terminating() const { return ending_ != PumpResult::Ending::exited; }
  bool pipes_open() const { return child_.stdout_fd() >= 0 || child_.stderr_fd() >= 0; }

  // Advances the state machine; true once pump() may reap and return.
  bool finished(Clock::time_point now) {
    if (!exited_ && child_.has_terminated()) {
      exited_ = true;
      if (!terminating()) drain_until_ = now + options_.drain_after_exit;
    }
    // A child that finished in time is not "timed out" because a background
    // job still holds its pipe; the drain window bounds that case.
    if (!terminating() && !exited_) {
      if (stop_.stop_requested()) {
        terminate(PumpResult::Ending::stopped, now);
      } else if (deadline_ && now >= *deadline_) {
        terminate(PumpResult::Ending::timed_out, now);
      }
    }
    if (kill_at_ && !killed_ && now >= *kill_at_) kill();
    if (!exited_) return false;
    if (!pipes_open()) return true;
    // Whoever still holds a pipe was SIGKILLed with the group; do not wait for them.
    if (killed_) return true;
    if (drain_until_ && (now >= *drain_until_ || stop_.stop_requested())) {
      kill();  // a background job keeps the pipe open (`sh -c "sleep 100 &"`)
      return true;
    }
    return false;
  }

  void terminate(PumpResult::Ending ending, Clock::time_point now) {
    ending_ = ending;
    child_.kill_group(SIGTERM);
    kill_at_ = now + options_.kill_grace;
  }

  void kill() {
    child_.kill_group(SIGKILL);
    killed_ = true;
  }

  // The poll() timeout: until the next deadline this state machine cares about.
  int poll_timeout() const {
    std::optional<Clock::time_point> next;
    const auto consider = [&next](const std::optional<Clock::time_point>& at) {
      if (at && (!next || *at < *next)) next = at;
    };
    if (!terminating() && !exited_) consider(deadline_);
    if (!killed_) consider(kill_at_);
    if (exited_) consider(drain_until_);
    std::optional<std::chrono::milliseconds> wait;
    if (next) {
      // Round up: waking a millisecond early would only spin.
      wait = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now());
      wait = std::max(*wait, std::chrono::milliseconds(0));
    }
    if (!exited_ && !pidfd_.valid()) wait = std::min(wait.value_or(kExitPollTick), kExitPollTick);
    if (!wait) return -1;
    return static_cast<int>(std::min<std::chrono::milliseconds::rep>(wait->count(), 60'000));
  }

  void poll_once() {
    std::array<pollfd, 4> fds{};
    nfds_t count = 0;
    const auto add = [&](int fd) {
      if (fd >= 0) fds[count++] = pollfd{fd, POLLIN, 0};
    };
    const int out = child_.stdout_fd();
    const int err = child_.stderr_fd();
    add(out);
    add(err);
    // Once signalled, the pidfd and the eventfd stay readable: leave them out.
    if (!exited_) add(pidfd_.get());
    if (!terminating()) add(wake_.get());

    const int ready = ::poll(fds.data(), count, poll_timeout());
    if (ready < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "pump: poll");
    }
    if (ready <= 0) return;
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == out) read_from(out, options_.on_stdout, &Child::close_stdout);
      if (fds[i].fd == err) read_from(err, options_.on_stderr, &Child::close_stderr);
    }
  }

  void read_from(int fd, const std::function<void(std::span<const char>)>& sink,
                 void (Child::*close)()) {
    const ssize_t n = ::read(fd, buffer_.data(), buffer_.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      (child_.*close)();  // EOF (or a broken pipe): nothing more will come
      return;
    }
    if (sink) sink(std::span<const char>(buffer_.data(), static_cast<std::size_t>(n)));
  }

  Child& child_;
  const PumpOptions& options_;
  std::stop_token stop_;
  std::vector<char> buffer_;
  UniqueFd pidfd_;
  UniqueFd wake_;
  std::optional<Clock::time_point> deadline_;
  std::optional<Clock::time_point> kill_at_;
  std::optional<Clock::time_point> drain_until_;
  PumpResult::Ending ending_ = PumpResult::Ending::exited;
  bool exited_ = false;
  bool killed_ = false;
};

}  // namespace

PumpResult pump(Child& child, const PumpOptions& options, std::stop_token stop) {
  if (child.pid() <= 0) throw std::invalid_argument("pump: no child process (moved from?)");
  return Pump(child, options, std::move(stop)).run();
}

}  // namespace backupy::process
