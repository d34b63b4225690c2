#pragma once
// The server's schedule on its io_context (private to the package): one system_timer armed
// for the earliest fire over all jobs (CronSchedule). At a fire the job's run is requested as
// a scheduled run (run_scheduled / run_skipped in the log). The same timer sweeps runs that
// waited too long for their agent, once a minute.
//
// The timer never sleeps longer than a minute, so a wall clock that jumps (NTP, suspend) is
// noticed within a minute. Every arm bumps a generation: a wait that completes after it was
// replaced does nothing, so there is only ever one timer chain.
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>

#include "cron_schedule.hpp"
#include "server_state.hpp"

namespace backupy::controlplane::detail {

class CronScheduler {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  CronScheduler(
      boost::asio::io_context& io, ServerState& state,
      Clock clock = [] { return std::chrono::system_clock::now(); });

  // (Re)builds the schedule from state.config and arms the timer: at start and after every
  // configuration reload. Runs on the server thread.
  void rebuild();
  // Cancels the timer for good (server shutdown).
  void stop();

  const CronSchedule& schedule() const { return schedule_; }

 private:
  void arm();
  void on_timer();

  ServerState& state_;
  Clock clock_;
  boost::asio::system_timer timer_;
  CronSchedule schedule_;
  std::chrono::system_clock::time_point next_sweep_{};
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
};

}  // namespace backupy::controlplane::detail
