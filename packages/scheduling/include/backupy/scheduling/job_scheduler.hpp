#pragma once
// Drives AgentSchedule on the control thread with one asio::system_timer (wakes at the next
// fire, and at least once a minute so a wall-clock jump is noticed). Active only while
// scheduling is enabled: the negotiated agent_cron.v1 mode, persisted so that an agent that
// restarts while its control plane is down keeps scheduling (docs/protocol.md).
//
// Every method runs on the io_context's thread (the agent's control thread); so does
// on_fire. The state behind ScheduleMemory may fail: a failed read counts as a job never
// seen, a failed write is logged; an on_fire that throws is logged. Neither stops the
// schedule. The only Asio code is in src/job_scheduler.cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "backup/v1/agent.pb.h"
#include "backupy/scheduling/agent_schedule.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::scheduling {

using FireFn = std::function<void(const Fire&)>;
using WallClock = std::function<std::chrono::system_clock::time_point()>;

class JobScheduler {
 public:
  // on_fire runs on the control thread for every fire (catch-ups included), never from
  // inside set_config() or set_enabled(). now: the wall clock (tests inject their own; the
  // timer waits for the difference, so an injected clock need not match the real one).
  JobScheduler(
      boost::asio::io_context& io, std::string agent_identity, ScheduleMemory memory,
      FireFn on_fire, WallClock now = [] { return std::chrono::system_clock::now(); });
  ~JobScheduler();
  JobScheduler(const JobScheduler&) = delete;
  JobScheduler& operator=(const JobScheduler&) = delete;

  // A new config snapshot (also before enabling: the jobs are known offline).
  void set_config(std::shared_ptr<const backup::v1::AgentConfig> config);
  // Turns scheduling on or off (timer cancelled). The first time it is on with a config (on
  // enabling, or at the first set_config if enabled before it): the catch-up pass
  // (AgentSchedule::start). On again later in the same process: AgentSchedule::resume, no
  // catch-up (the server scheduled meanwhile).
  void set_enabled(bool enabled);
  bool enabled() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::scheduling
