#pragma once
// The server's cron schedule as plain data (private to the package; no timers, no clock of its
// own): which configured job fires next and when. cron_scheduler.cpp drives it with one timer;
// tests drive it with any clock they like.
//
// Every job with a non-empty cron (UTC) is scheduled; jobs with an empty cron are manual-only.
// A job id configured for several agents is scheduled once (the dispatcher then refuses the
// ambiguous run and logs why).
//
// Fire instants are never fired twice: each job remembers the last instant it fired, and a
// rebuild (configuration reload) computes new fire times strictly after both the current time
// and that instant. A job whose cron text is unchanged keeps its pending fire time, so a fire
// that is due while a reload happens is not lost either. Instants missed while the server was
// busy or asleep fire once, not once per missed instant.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backupy/controlplane/server_config.hpp"
#include "backupy/cron/cron.hpp"

namespace backupy::controlplane::detail {

class CronSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  struct Fire {
    std::string job_id;
    std::chrono::sys_seconds at;  // the cron instant that fired
  };

  // Replaces the scheduled jobs with those of config.
  void rebuild(const ServerConfig& config, TimePoint now);

  // The earliest pending fire time over all jobs; nullopt if nothing is scheduled.
  std::optional<std::chrono::sys_seconds> next_fire() const;
  // When job_id fires next; nullopt if it is not scheduled (unknown, manual-only, or no fire
  // within five years).
  std::optional<std::chrono::sys_seconds> next_fire(const std::string& job_id) const;

  // The jobs whose fire time is <= now, ordered by fire time then job id; each moves on to its
  // first fire time after now.
  std::vector<Fire> take_due(TimePoint now);

  std::size_t size() const { return jobs_.size(); }

 private:
  struct Job {
    cron::CronExpression expression;
    std::optional<std::chrono::sys_seconds> next;
    std::optional<std::chrono::sys_seconds> last_fired;
  };
  static std::optional<std::chrono::sys_seconds> first_after(const Job& job, TimePoint now);

  std::map<std::string, Job> jobs_;
};

}  // namespace backupy::controlplane::detail
