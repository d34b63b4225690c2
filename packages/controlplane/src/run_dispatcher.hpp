#pragma once
// Run dispatch in one place (private to the package; no Beast): the operator API, the server's
// cron schedule and agent registration all create and send runs through RunDispatcher.
//
//  - request_run(): finds the job's agent, refuses a second unfinished run of the job unless
//    concurrency is allowed, creates the run and sends RunBackup at once if the agent is
//    online; otherwise the run waits for the agent (sent_ms == 0, log run_waiting).
//  - Credentials are presigned when RunBackup is sent, never earlier: a run that waited a day
//    gets a URL that is valid from the moment the agent receives it.
//  - deliver_waiting(): when an agent registers, its waiting runs go out oldest first.
//  - Waiting is bounded: at most scheduling.max_waiting_runs_per_agent runs per agent, and a
//    run still waiting after scheduling.waiting_run_ttl_sec fails (expire_waiting()).
//
// A dispatcher is a short-lived view over the server's state for one event (an API request, a
// cron fire, a registration, a sweep); everything runs on the server thread.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/log.hpp"
#include "object_store.hpp"
#include "operator_api.hpp"
#include "run_store.hpp"

namespace backupy::controlplane::detail {

// Why request_run() created no run. http_status is the operator API's answer for it.
struct RunRefusal {
  unsigned http_status = 409;
  std::string reason;
  std::string active_run_id;  // set when an unfinished run of the job is in the way
};

// request_run()'s run: sent to the agent now, or waiting for it to connect.
struct RunAccepted {
  RunRecord* run = nullptr;
  bool delivered = false;
};

using RunRequestResult = std::variant<RunAccepted, RunRefusal>;

class RunDispatcher {
 public:
  RunDispatcher(const ServerConfig& config, RunStore& runs, AgentGateway& agents,
                const ObjectStore* store, std::uint64_t now_ms, const core::Logger& log)
      : config_(config), runs_(runs), agents_(agents), store_(store), now_ms_(now_ms), log_(log) {}

  // The agent whose configuration has job_id, or a refusal: 404 unknown job, 409 a job id
  // that more than one agent configures (ambiguous: which database would be backed up?).
  std::variant<const AgentEntry*, RunRefusal> agent_for_job(const std::string& job_id) const;

  // Creates a run of job_id and sends it, or leaves it waiting for its agent. A scheduled
  // request that is refused is logged as run_skipped (warn) with the reason; an operator's
  // refusal is the caller's to answer.
  RunRequestResult request_run(const std::string& job_id, RunTrigger trigger,
                               bool allow_concurrent);

  // Sends RunBackup for run with freshly presigned upload credentials and marks it sent;
  // false (nothing changes) if the agent is not online. resend: an operator asked again.
  bool send(RunRecord& run, bool resend);

  // agent_id just registered: fails its waiting runs that are too old, then sends the others,
  // oldest first. Returns how many were sent.
  std::size_t deliver_waiting(const std::string& agent_id);

  // Fails every run that has waited longer than scheduling.waiting_run_ttl_sec; returns how
  // many.
  std::size_t expire_waiting();

 private:
  // Fails run as expired if it waited too long; returns whether it did.
  bool expire_if_stale(RunRecord& run);
  RunRefusal refuse(RunTrigger trigger, const std::string& job_id, RunRefusal refusal) const;

  const ServerConfig& config_;
  RunStore& runs_;
  AgentGateway& agents_;
  const ObjectStore* store_;
  std::uint64_t now_ms_;
  const core::Logger& log_;
};

}  // namespace backupy::controlplane::detail
