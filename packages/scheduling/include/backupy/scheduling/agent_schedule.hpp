#pragma once
// The agent's own cron schedule as pure data (no timers, no threads): which jobs are due at a
// given instant. The clock is always passed in, so the unit tests own time; JobScheduler drives
// it with one asio timer.
//
// Rules (docs/architecture.md, "Agent-side scheduling"):
//  - Every job with a non-empty cron fires at each instant of its expression (CRON_TZ aware,
//    packages/cron), delayed by jitter_offset(agent_identity, job id, schedule_jitter_sec).
//    Fire.scheduled_for is the cron instant itself, without the jitter. An instant I is due
//    once I + jitter <= now.
//  - A job fires at most once per instant, also across reloads: each job remembers the last
//    instant it fired (persisted by the caller through ScheduleMemory), and no instant at or
//    before it fires again.
//  - start(): for each job that has fired (or been seen) before, an instant missed while the
//    agent was down fires once as a catch-up (missed_fire(), judged at now - jitter); a job
//    never seen before is remembered from now on (so a miss after today is caught up next
//    time).
//  - Instants missed while the agent was up but the process was stalled (a suspended VM, a
//    clock jump forwards) coalesce into one fire of the latest instant. A clock jump
//    backwards fires nothing again: the job waits until the clock passes its last fire.
//  - set_config(): a job whose cron text and jitter are unchanged keeps its pending instant
//    (a fire due during a reload is not lost); a changed job continues from now (instants
//    that were already due under its old jitter still fire); a new job is remembered from
//    now; a removed job stops (its memory stays: the caller prunes it, e.g.
//    ScheduleStore::retain_jobs).
//  - Memory is only read and written once started (start() or resume()): before that the
//    jobs are known but nothing is due.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/cron/cron.hpp"

namespace backupy::scheduling {

struct Fire {
  std::string job_id;
  std::chrono::sys_seconds scheduled_for;  // the cron instant (UTC)
  bool catch_up = false;
  bool operator==(const Fire&) const = default;
};

// Where the schedule keeps each job's last fired instant (state::ScheduleStore in the agent,
// a map in tests).
struct ScheduleMemory {
  std::function<std::optional<std::chrono::sys_seconds>(const std::string& job_id)> last_fire;
  std::function<void(const std::string& job_id, std::chrono::sys_seconds instant)> set_last_fire;
};

class AgentSchedule {
 public:
  AgentSchedule(std::string agent_identity, ScheduleMemory memory);

  // Replaces the jobs (a new config snapshot). Jobs without cron, or with one that does not
  // parse (validation rejected those already), are not scheduled; a job id listed twice is
  // scheduled once (the first).
  void set_config(const backup::v1::AgentConfig& config, std::chrono::system_clock::time_point now);
  // Catch-up pass at start-up (once scheduling is enabled); returns the catch-up fires
  // (catch_up = true), remembered like any fire. Call once.
  std::vector<Fire> start(std::chrono::system_clock::time_point now);
  // Scheduling comes back after a pause in the same process (the server scheduled
  // meanwhile): every job continues from now, without a catch-up, and its memory moves to
  // now so that a later restart does not catch up what the server ran.
  void resume(std::chrono::system_clock::time_point now);
  // Every fire due at or before now (jitter included), each job at most once; remembers them.
  // Ordered by scheduled_for, then job id. Nothing before start()/resume().
  std::vector<Fire> due(std::chrono::system_clock::time_point now);
  // When due() has something next (nullopt: no job is scheduled).
  std::optional<std::chrono::system_clock::time_point> next_wake() const;
  // How many jobs are scheduled (cron set and parsed).
  std::size_t size() const { return jobs_.size(); }

 private:
  struct Job {
    cron::CronExpression cron;
    std::chrono::milliseconds jitter{0};
    // Every instant at or before `after` has fired or been passed over.
    std::chrono::sys_seconds after;
    // The next cron instant not fired yet (next_after(after)); nullopt: none within 5 years.
    std::optional<std::chrono::sys_seconds> next_instant;
  };
  // Continues every job from now; with catch_up, returns the missed fires.
  std::vector<Fire> begin(std::chrono::system_clock::time_point now, bool catch_up);

  std::string agent_identity_;
  ScheduleMemory memory_;
  std::map<std::string, Job> jobs_;
  bool started_ = false;
};

}  // namespace backupy::scheduling
