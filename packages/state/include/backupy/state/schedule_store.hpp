#pragma once
// What the agent's own scheduler must remember across restarts (table schedule_state and
// the row 'agent_cron' of table meta, schema v3 in src/migrations.cpp):
//  - whether the last server it registered with negotiated agent_cron.v1 — an agent that
//    restarts while its control plane is down must know whether to schedule;
//  - each job's last fired cron instant (or when it was first scheduled, if it has not fired
//    yet) — the catch-up of a run missed while down, and never one instant twice.
// Thread-safe like every state store (one SQLite transaction per call).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/state/state_db.hpp"

namespace backupy::state {

class ScheduleStore {
 public:
  explicit ScheduleStore(StateDb& db) : db_(db) {}

  // false until a server listed agent_cron.v1 in RegisterAck.server_capabilities.
  bool agent_scheduling();
  void set_agent_scheduling(bool enabled);

  std::optional<std::chrono::sys_seconds> last_fire(std::string_view job_id);
  void set_last_fire(std::string_view job_id, std::chrono::sys_seconds instant);
  // Forgets the jobs not in job_ids (removed from the config).
  void retain_jobs(const std::vector<std::string>& job_ids);

 private:
  StateDb& db_;
};

}  // namespace backupy::state
