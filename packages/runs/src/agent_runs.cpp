// RunManager's agent-made runs (agent_cron.v1): fires, data keys, parked runs.

#include <chrono>

#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/core/time.hpp"
#include "reports.hpp"
#include "run_manager_impl.hpp"

namespace backupy::runs {

namespace {

const core::Logger kLog("runs");

}  // namespace

void RunManager::Impl::schedule_run(const scheduling::Fire& fire) {
  const auto scheduled_for_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(fire.scheduled_for.time_since_epoch())
          .count());
  for (const auto& other : journal_.in_states(
           {RunState::queued, RunState::running, RunState::spooled, RunState::uploading})) {
    if (other.job_id != fire.job_id) continue;
    const std::string state_name(state::run_state_name(other.state));
    const std::string message = "scheduled run skipped: run " + other.run_id + " of job " +
                                fire.job_id + " is still " + state_name;
    report_(detail::log_event(
        backup::v1::WARN, fire.job_id, message,
        {{"scheduled_for", core::iso8601_utc(scheduled_for_ms)}, {"active_run_id", other.run_id}}));
    kLog.warn(message, {{"job_id", fire.job_id},
                        {"active_run_id", other.run_id},
                        {"scheduled_for", core::iso8601_utc(scheduled_for_ms)},
                        {"reported_upstream", true}});
    return;
  }
  const auto config = config_();
  const std::uint64_t now = options_.now_ms();
  detail::Admission admission = detail::admit_job(fire.job_id, *config, options_, drivers_);
  state::RunRecord record{.run_id = "arun-" + core::to_hex(crypto::random_bytes(8)),
                          .job_id = fire.job_id,
                          .target_id = admission.job.target_id(),
                          .state = RunState::queued,
                          .manual_trigger = false,
                          .encryption_enabled = admission.job.encryption_enabled(),
                          .origin = state::RunOrigin::agent,
                          .scheduled_for_ms = scheduled_for_ms,
                          .catch_up = fire.catch_up};
  std::optional<std::string> refusal = admission.refusal;
  crypto::Bytes dek;
  struct Wipe {
    crypto::Bytes& a;
    std::vector<std::uint8_t>& b;
    ~Wipe() {
      crypto::secure_wipe(a);
      crypto::secure_wipe(b);
    }
  } wipe{dek, record.encrypted_dek};
  if (!refusal && record.encryption_enabled) refusal = make_dek(*config, record, dek);
  if (refusal) {
    record.state = RunState::failed;
    record.reason = *refusal;
  }
  db_.transaction([&](sqlite3*) {
    journal_.insert(record, now);
    // The server learns of the run first (even of a refused one), then of its state.
    report_(detail::upload_creds_request(record));
    report_(refusal ? detail::job_update(record.job_id, record.run_id, 1, backup::v1::FAILED,
                                         detail::step::queued, 0, *refusal)
                    : detail::job_update(record.job_id, record.run_id, 1, backup::v1::QUEUED,
                                         detail::queued_step(record), 0));
  });
  if (refusal) {
    kLog.error("scheduled run failed",
               {{"job_id", record.job_id}, {"run_id", record.run_id}, {"reason", *refusal}});
    return;
  }
  start(admitted_run(record, std::move(admission)));
  kLog.info("scheduled run queued", {{"job_id", record.job_id},
                                     {"run_id", record.run_id},
                                     {"scheduled_for", core::iso8601_utc(scheduled_for_ms)},
                                     {"catch_up", record.catch_up}});
}

void RunManager::Impl::request_missing_credentials() {
  const std::uint64_t now = options_.now_ms();
  for (const auto& record : journal_.in_states({RunState::spooled})) {
    if (record.origin != state::RunOrigin::agent || creds_usable(record.creds, now)) continue;
    {
      std::lock_guard lock(mutex_);
      if (auto it = runs_.find(record.run_id); it != runs_.end() && !it->second->parked) {
        continue;  // its worker asks when it gets there
      }
    }
    report_(detail::upload_creds_request(record));
    kLog.info("upload credentials requested again",
              {{"job_id", record.job_id}, {"run_id", record.run_id}});
  }
}

// A parked agent-made run whose credentials are usable now starts its upload.
bool RunManager::Impl::resume_parked(const state::RunRecord& record) {
  if (record.state != RunState::spooled || record.origin != state::RunOrigin::agent ||
      !record.spool || !creds_usable(record.creds, options_.now_ms())) {
    return false;
  }
  auto run = run_from_record(record);
  run->resume_upload = true;
  start(std::move(run));
  kLog.info("upload credentials arrived; the upload starts",
            {{"job_id", record.job_id}, {"run_id", record.run_id}});
  return true;
}

// Makes and wraps an agent-made run's DEK; the reason if it cannot.
std::optional<std::string> RunManager::Impl::make_dek(const backup::v1::AgentConfig& config,
                                                      state::RunRecord& record,
                                                      crypto::Bytes& dek) {
  const auto& key = config.key_wrapping();
  if (key.key_id().empty() || key.x25519_public_key().empty()) {
    return "job " + core::quoted(record.job_id) +
           " is encrypted but the control plane published no key-wrapping key "
           "(AgentConfig.key_wrapping)";
  }
  dek = crypto::random_bytes(32);
  try {
    record.wrapped_dek = options_.wrap_dek(std::span<const std::uint8_t, 32>(dek.data(), 32), key);
  } catch (const std::exception& e) {
    return "cannot wrap the data key of job " + core::quoted(record.job_id) +
           " to key-wrapping key " + core::quoted(key.key_id()) + ": " + e.what();
  }
  record.dek_kms_id = key.key_id();
  record.encrypted_dek = dek;
  return std::nullopt;
}

}  // namespace backupy::runs
