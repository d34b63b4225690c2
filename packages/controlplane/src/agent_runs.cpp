#include "agent_runs.hpp"

#include <stdexcept>

#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "operator_endpoint.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::size_t kMaxRunIdLength = 64;

const backup::v1::BackupJobSpec* agent_job(const ServerState& state, std::string_view agent_id,
                                           std::string_view job_id) {
  const AgentEntry* entry = state.registry.find(agent_id);
  if (entry == nullptr) return nullptr;
  for (const backup::v1::BackupJobSpec& job : entry->config.jobs()) {
    if (job.id() == job_id) return &job;
  }
  return nullptr;
}

void refuse(const ServerState& state, std::string_view agent_id, std::string_view run_id,
            std::string_view job_id, std::string_view source, std::string reason) {
  state.log.warn("agent_run_refused", {{"event", "agent_run_refused"},
                                       {"agent_id", agent_id},
                                       {"run_id", run_id},
                                       {"job_id", job_id},
                                       {"source", source},
                                       {"reason", reason}});
}

// The run agent_id reports on: a known run of its own, or a new one adopted now. nullptr (and
// agent_run_refused logged) for a run of another agent, a malformed id or a foreign job.
RunRecord* find_or_adopt(ServerState& state, const std::string& agent_id, const std::string& job_id,
                         const std::string& run_id, bool catch_up, std::uint64_t scheduled_for_ms,
                         std::string_view source) {
  if (RunRecord* run = state.runs.find(run_id)) {
    if (run->agent_id == agent_id) return run;
    refuse(state, agent_id, run_id, job_id, source,
           "run id " + run_id + " belongs to another agent");
    return nullptr;
  }
  if (!valid_agent_run_id(run_id)) {
    refuse(state, agent_id, run_id, job_id, source,
           "run id is not 1-64 characters of [A-Za-z0-9._-]");
    return nullptr;
  }
  if (agent_job(state, agent_id, job_id) == nullptr) {
    refuse(state, agent_id, run_id, job_id, source,
           "job " + job_id + " is not configured for agent " + agent_id);
    return nullptr;
  }
  RunRecord& run = state.runs.adopt(run_id, job_id, agent_id, catch_up, scheduled_for_ms);
  state.log.info("run_adopted",
                 {{"event", "run_adopted"},
                  {"run_id", run_id},
                  {"job_id", job_id},
                  {"agent_id", agent_id},
                  {"trigger", to_string(run.trigger)},
                  {"catch_up", catch_up},
                  {"scheduled_for",
                   scheduled_for_ms == 0 ? std::string() : core::iso8601_utc(scheduled_for_ms)},
                  {"source", source}});
  return &run;
}

// Takes the agent's wrapped DEK for run: sets it if the run has none yet, warns if it differs
// from the one it has. Returns why it cannot be used ("" if it was, or was redundant).
std::string take_wrapped_dek(ServerState& state, RunRecord& run, const std::string& kms_id,
                             const std::string& wrapped) {
  if (!state.key_wrapping) {
    return "the control plane has no key-wrapping key to unwrap the agent's data key with";
  }
  const std::string& current = state.key_wrapping->key_id();
  if (kms_id != current) {
    return "the agent wrapped the data key to key id \"" + kms_id +
           "\", but the control plane's key-wrapping key is " + current +
           " (was the master key replaced?)";
  }
  std::optional<std::array<std::uint8_t, 32>> dek =
      state.key_wrapping->unwrap(crypto::as_bytes(wrapped));
  if (!dek) {
    return "the agent's wrapped data key (" + std::to_string(wrapped.size()) +
           " bytes) does not open under key " + current +
           " (damaged, or not made for this control plane)";
  }
  struct Wipe {
    std::array<std::uint8_t, 32>& key;
    ~Wipe() { crypto::secure_wipe(key); }
  } wipe{*dek};
  if (!run.dek_known) {
    state.runs.set_dek(run, *dek, kms_id);
  } else if (!std::equal(dek->begin(), dek->end(), run.dek.bytes().begin())) {
    state.log.warn("dek_mismatch", {{"event", "dek_mismatch"},
                                    {"run_id", run.run_id},
                                    {"agent_id", run.agent_id},
                                    {"kept", "the data key received first"}});
  }
  return {};
}

void fail_unusable_dek(ServerState& state, RunRecord& run, const std::string& reason) {
  state.runs.fail(run, "cannot use the data key of agent run " + run.run_id + ": " + reason,
                  core::now_ms());
  state.log.warn("agent_run_failed", {{"event", "agent_run_failed"},
                                      {"run_id", run.run_id},
                                      {"job_id", run.job_id},
                                      {"agent_id", run.agent_id},
                                      {"error", run.error}});
}

}  // namespace

bool valid_agent_run_id(std::string_view run_id) {
  if (run_id.empty() || run_id.size() > kMaxRunIdLength) return false;
  for (const char c : run_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  // "." and ".." would be path segments of the object key, not names.
  return run_id != "." && run_id != "..";
}

void on_upload_creds_request(ServerState& state, const std::string& agent_id,
                             const backup::v1::UploadCredsRequest& request) {
  RunRecord* run =
      find_or_adopt(state, agent_id, request.job_id(), request.run_id(), request.catch_up(),
                    request.scheduled_for_ms(), "upload_creds_request");
  if (run == nullptr) return;
  if (is_finished(run->status)) {
    state.log.info("upload_creds_ignored",
                   {{"event", "upload_creds_ignored"},
                    {"run_id", run->run_id},
                    {"agent_id", agent_id},
                    {"reason", "the run is already " + std::string(to_string(run->status))}});
    return;
  }
  if (!request.encrypted_dek().empty()) {
    if (const std::string problem =
            take_wrapped_dek(state, *run, request.dek_kms_id(), request.encrypted_dek());
        !problem.empty()) {
      return fail_unusable_dek(state, *run, problem);
    }
  } else if (run->trigger == RunTrigger::agent && !run->dek_known) {
    const backup::v1::BackupJobSpec* job = agent_job(state, agent_id, run->job_id);
    if (job != nullptr && job->encryption_enabled()) {
      // The agent fails such a run itself (no key-wrapping key in its config) and says why.
      state.log.warn("upload_creds_refused",
                     {{"event", "upload_creds_refused"},
                      {"run_id", run->run_id},
                      {"agent_id", agent_id},
                      {"reason", "job " + run->job_id +
                                     " is encrypted but the request carries no wrapped data key"}});
      return;
    }
  }
  try {
    if (!send_run(state, *run, true)) {
      state.log.info("upload_creds_not_sent",
                     {{"event", "upload_creds_not_sent"},
                      {"run_id", run->run_id},
                      {"agent_id", agent_id},
                      {"reason", "agent offline or storage not configured"}});
    }
  } catch (const std::invalid_argument&) {
    // The local store refuses object keys with control characters (from the job id).
    state.runs.fail(
        *run, "job " + run->job_id + " cannot be stored: its id is not usable in an object key",
        core::now_ms());
  }
}

void prepare_agent_run_result(ServerState& state, const std::string& agent_id,
                              const backup::v1::Envelope& envelope) {
  using backup::v1::Envelope;
  const bool completed = envelope.payload_case() == Envelope::kBackupCompleted;
  if (!completed && envelope.payload_case() != Envelope::kJobUpdate) return;
  const std::string& run_id =
      completed ? envelope.backup_completed().run_id() : envelope.job_update().run_id();
  const std::string& job_id =
      completed ? envelope.backup_completed().job_id() : envelope.job_update().job_id();
  RunRecord* run = state.runs.find(run_id);
  if (run == nullptr) {
    // Only agents that schedule themselves make runs; a v1 agent's unknown run id stays noise.
    if (!state.agent_cron(agent_id)) return;
    run = find_or_adopt(state, agent_id, job_id, run_id, false, 0,
                        completed ? "backup_completed" : "job_update");
    if (run == nullptr) return;
  }
  if (!completed || run->agent_id != agent_id || run->trigger != RunTrigger::agent ||
      is_finished(run->status) || run->completed) {
    return;
  }
  const backup::v1::BackupCompleted& done = envelope.backup_completed();
  if (done.encrypted_dek().empty()) {
    // Without its key an encrypted blob is lost: the run must not count as a backup.
    const backup::v1::BackupJobSpec* job = agent_job(state, agent_id, run->job_id);
    if (!run->dek_known && job != nullptr && job->encryption_enabled()) {
      fail_unusable_dek(state, *run,
                        "BackupCompleted carries no wrapped data key, but job " + run->job_id +
                            " is encrypted: the backup could never be decrypted");
    }
    return;
  }
  if (const std::string problem =
          take_wrapped_dek(state, *run, done.dek_kms_id(), done.encrypted_dek());
      !problem.empty() && !run->dek_known) {
    fail_unusable_dek(state, *run, problem);
  }
}

}  // namespace backupy::controlplane::detail
