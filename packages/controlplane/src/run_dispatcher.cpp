#include "run_dispatcher.hpp"

#include <limits>
#include <stdexcept>

namespace backupy::controlplane::detail {
namespace {

using Envelope = backup::v1::Envelope;

// Where an unfinished run stands, for a refusal's reason.
std::string describe(const RunRecord& run) {
  if (run.sent_ms == 0) return "queued, waiting for agent " + run.agent_id + " to connect";
  if (run.status == RunStatus::queued) return "queued, sent to agent " + run.agent_id;
  return std::string(to_string(run.status));
}

}  // namespace

std::variant<const AgentEntry*, RunRefusal> RunDispatcher::agent_for_job(
    const std::string& job_id) const {
  std::vector<const AgentEntry*> found;
  for (const AgentEntry& agent : config_.agents) {
    for (const backup::v1::BackupJobSpec& job : agent.config.jobs()) {
      if (job.id() == job_id) found.push_back(&agent);
    }
  }
  if (found.empty()) return RunRefusal{404, "job " + job_id + " not found", {}};
  if (found.size() > 1) {
    std::string names;
    for (const AgentEntry* agent : found) names += (names.empty() ? "" : ", ") + agent->id;
    return RunRefusal{
        409, "job " + job_id + " is configured for more than one agent (" + names + ")", {}};
  }
  return found.front();
}

RunRefusal RunDispatcher::refuse(RunTrigger trigger, const std::string& job_id,
                                 RunRefusal refusal) const {
  if (trigger == RunTrigger::scheduled) {
    log_.warn("run_skipped", {{"event", "run_skipped"},
                              {"job_id", job_id},
                              {"trigger", to_string(trigger)},
                              {"active_run_id", refusal.active_run_id},
                              {"reason", refusal.reason}});
  }
  return refusal;
}

RunRequestResult RunDispatcher::request_run(const std::string& job_id, RunTrigger trigger,
                                            bool allow_concurrent) {
  const auto found = agent_for_job(job_id);
  if (const auto* refusal = std::get_if<RunRefusal>(&found)) {
    return refuse(trigger, job_id, *refusal);
  }
  const std::string& agent_id = std::get<const AgentEntry*>(found)->id;
  if (trigger == RunTrigger::scheduled && agents_.schedules_itself(agent_id)) {
    // Never both: the agent fires this job itself (agent_cron.v1) and asks for credentials.
    log_.info("run_left_to_agent",
              {{"event", "run_left_to_agent"},
               {"job_id", job_id},
               {"agent_id", agent_id},
               {"reason", "the agent schedules its own jobs (agent_cron.v1)"}});
    return RunRefusal{
        409, "agent " + agent_id + " schedules job " + job_id + " itself (agent_cron.v1)", {}};
  }
  if (store_ == nullptr) return refuse(trigger, job_id, {503, "storage is not configured", {}});
  try {
    // The object key is "agents/<agent>/<job>/<run id>.bkpy"; the local store refuses keys with
    // control characters (from the job id). Probe before a run exists: a refused request
    // leaves nothing behind.
    (void)store_->presign_put("agents/" + agent_id + "/" + job_id + "/run-0000000000000000.bkpy",
                              now_ms_);
  } catch (const std::invalid_argument&) {
    return refuse(
        trigger, job_id,
        {422, "job " + job_id + " cannot be stored: its id is not usable in an object key", {}});
  }

  // Runs that waited too long are gone before they can block a new one or fill the bound.
  std::vector<RunRecord*> waiting = runs_.undelivered(agent_id);
  std::erase_if(waiting, [this](RunRecord* run) { return expire_if_stale(*run); });

  if (!allow_concurrent) {
    if (const RunRecord* active = runs_.active_run(job_id)) {
      return refuse(trigger, job_id,
                    {409,
                     "job " + job_id + " already has an unfinished run " + active->run_id + " (" +
                         describe(*active) + ")",
                     active->run_id});
    }
  }
  const bool online = agents_.online(agent_id);
  const std::uint32_t bound = config_.scheduling.max_waiting_runs_per_agent;
  if (!online && waiting.size() >= bound) {
    return refuse(
        trigger, job_id,
        {409,
         "agent " + agent_id + " is offline and already has " + std::to_string(waiting.size()) +
             " runs waiting for it (scheduling.max_waiting_runs_per_agent " +
             std::to_string(bound) + ")",
         {}});
  }

  RunRecord& run = runs_.create(job_id, agent_id, trigger);
  log_.info("run_created", {{"event", "run_created"},
                            {"run_id", run.run_id},
                            {"job_id", run.job_id},
                            {"agent_id", run.agent_id},
                            {"trigger", to_string(trigger)}});
  if (online && send(run, false)) return RunAccepted{&run, true};
  log_.info("run_waiting", {{"event", "run_waiting"},
                            {"run_id", run.run_id},
                            {"job_id", run.job_id},
                            {"agent_id", run.agent_id},
                            {"waiting_runs", waiting.size() + 1},
                            {"expires_in_sec", config_.scheduling.waiting_run_ttl_sec}});
  return RunAccepted{&run, false};
}

bool RunDispatcher::send(RunRecord& run, bool resend) {
  if (store_ == nullptr) return false;
  const PresignedUrl put = store_->presign_put(run.s3_key, now_ms_);
  Envelope envelope;
  backup::v1::RunBackup* command = envelope.mutable_run_backup();
  command->set_job_id(run.job_id);
  command->set_run_id(run.run_id);
  command->set_manual_trigger(run.trigger == RunTrigger::manual);
  command->mutable_upload_creds()->set_presigned_put_url(put.url);
  command->mutable_upload_creds()->set_expires_at_ms(put.expires_at_ms);
  command->mutable_upload_creds()->set_final_s3_key(run.s3_key);
  // v1 semantics: the DEK travels raw, protected by the TLS channel only. An agent-made run
  // (agent_cron.v1) has its own DEK: the answer only carries credentials, never a key.
  if (run.trigger != RunTrigger::agent) {
    command->set_encrypted_dek(run.dek.bytes().data(), run.dek.bytes().size());
  }
  const std::optional<std::string> correlation =
      agents_.send(run.agent_id, "run", std::move(envelope));
  if (!correlation) return false;
  const bool waited = run.sent_ms == 0 && !resend;
  runs_.mark_sent(run, now_ms_);
  log_.info("run_sent", {{"event", "run_sent"},
                         {"run_id", run.run_id},
                         {"job_id", run.job_id},
                         {"agent_id", run.agent_id},
                         {"trigger", to_string(run.trigger)},
                         {"s3_key", run.s3_key},
                         {"expires_at_ms", put.expires_at_ms},
                         {"correlation_id", *correlation},
                         {"resend", resend},
                         {"waited_ms", waited ? now_ms_ - std::min(now_ms_, run.created_ms) : 0}});
  return true;
}

bool RunDispatcher::expire_if_stale(RunRecord& run) {
  const std::uint64_t ttl_ms = std::uint64_t{config_.scheduling.waiting_run_ttl_sec} * 1000;
  // An adopted run (trigger agent) never waits for its agent: the agent made it.
  if (run.sent_ms != 0 || run.trigger == RunTrigger::agent || is_finished(run.status) ||
      now_ms_ < run.created_ms + ttl_ms) {
    return false;
  }
  runs_.fail(run,
             "agent " + run.agent_id + " did not connect within " +
                 std::to_string(config_.scheduling.waiting_run_ttl_sec) +
                 " s (scheduling.waiting_run_ttl_sec)",
             now_ms_);
  log_.warn("run_expired", {{"event", "run_expired"},
                            {"run_id", run.run_id},
                            {"job_id", run.job_id},
                            {"agent_id", run.agent_id},
                            {"error", run.error}});
  return true;
}

std::size_t RunDispatcher::deliver_waiting(const std::string& agent_id) {
  std::size_t sent = 0;
  for (RunRecord* run : runs_.undelivered(agent_id)) {
    if (expire_if_stale(*run)) continue;
    if (!send(*run, false)) break;  // offline again (or no storage): the rest keeps waiting
    ++sent;
  }
  return sent;
}

std::size_t RunDispatcher::expire_waiting() {
  RunFilter filter;
  filter.status = RunStatus::queued;
  filter.limit = std::numeric_limits<std::size_t>::max();
  std::vector<std::string> candidates;
  for (const RunRecord* run : runs_.list(filter)) {
    if (run->sent_ms == 0) candidates.push_back(run->run_id);
  }
  std::size_t expired = 0;
  for (const std::string& run_id : candidates) {
    if (RunRecord* run = runs_.find(run_id); run != nullptr && expire_if_stale(*run)) ++expired;
  }
  return expired;
}

}  // namespace backupy::controlplane::detail
