#pragma once
// Runs the configured HealthCheckSpecs on their intervals (docs/architecture.md "Health
// checks"). Timers live on the control thread's io_context; each check run happens on its
// own std::jthread (a check blocks for up to its timeout), and the result is posted back to
// the control thread, where on_result runs. At most one run per check is in flight; a
// RunHealthCheck while one runs is answered by that run's result.
//
// Every method runs on the io_context's thread. The only Asio code is in
// src/health_check_scheduler.cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "backup/v1/agent.pb.h"
#include "backupy/health/run_check.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::health {

using ResultFn = std::function<void(backup::v1::HealthCheckResult)>;
// The first run's delay for a check, in [0, interval): spreads a fleet (and one agent's
// checks) instead of probing every target at the same instant.
using InitialDelayFn = std::function<std::chrono::milliseconds(const std::string& check_id,
                                                               std::chrono::milliseconds interval)>;
// The check itself (tests may wrap run_check).
using CheckFn = std::function<backup::v1::HealthCheckResult(const backup::v1::HealthCheckSpec&,
                                                            std::stop_token)>;

struct SchedulerOptions {
  CheckOptions check;
  std::chrono::milliseconds default_interval{std::chrono::seconds(60)};  // interval_sec 0
  std::chrono::milliseconds min_interval{std::chrono::seconds(5)};       // floor for interval_sec
  // Unset: a random delay in [0, interval).
  InitialDelayFn initial_delay;
  // Unset: run_check(spec, check, stop).
  CheckFn run;
};

class HealthCheckScheduler {
 public:
  HealthCheckScheduler(boost::asio::io_context& io, SchedulerOptions options, ResultFn on_result);
  // Calls shutdown() and joins the workers (an HTTP check in flight ends within its timeout).
  ~HealthCheckScheduler();
  HealthCheckScheduler(const HealthCheckScheduler&) = delete;
  HealthCheckScheduler& operator=(const HealthCheckScheduler&) = delete;

  // A new config: added checks start (after their initial delay), changed ones restart,
  // removed ones stop (a result of a removed check still in flight is dropped).
  void set_config(std::shared_ptr<const backup::v1::AgentConfig> config);
  // Runs a configured check now (RunHealthCheck); false if no check has this id.
  bool run_now(const std::string& check_id);
  // Cancels the timers and asks in-flight runs to stop (a TCP connect stops at once, an HTTP
  // exchange within its timeout); does not block. No on_result afterwards.
  void shutdown();

  // The effective interval for a spec (interval_sec, default, floor).
  std::chrono::milliseconds interval_of(const backup::v1::HealthCheckSpec& spec) const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace backupy::health
