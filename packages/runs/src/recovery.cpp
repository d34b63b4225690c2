// RunManager at start-up: the journal's runs of the previous process (run_manager.hpp recover()).

#include <filesystem>
#include <set>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "backupy/scheduling/retry.hpp"
#include "reports.hpp"
#include "run_manager_impl.hpp"
#include "spool_dir.hpp"

namespace backupy::runs {

namespace {

const core::Logger kLog("runs");

}  // namespace

void RunManager::Impl::recover() {
  const std::uint64_t now = options_.now_ms();
  std::set<std::string> keep;
  // Started only after the spool and work directories are swept: a worker
  // must not find its directory missing, or lose its files to the sweep.
  std::vector<std::shared_ptr<ActiveRun>> to_start;
  // Oldest first: queued runs get their dump slots in the order they came.
  for (const auto& record : journal_.in_states({RunState::queued, RunState::running})) {
    if (record.state == RunState::running) {
      if (auto run = retry_or_fail_crashed(record, now)) to_start.push_back(std::move(run));
    } else if (auto problem = restart_problem(record, now)) {
      fail_recorded(record, *problem);
    } else {
      to_start.push_back(run_from_record(record));
      kLog.info(
          "queued run restarted",
          {{"job_id", record.job_id}, {"run_id", record.run_id}, {"attempt", record.attempt}});
    }
  }
  for (const auto& record : journal_.in_states({RunState::spooled, RunState::uploading})) {
    const bool agent = record.origin == state::RunOrigin::agent;
    // Expired credentials fail a server run; an agent-made run asks for new ones.
    if (auto problem = resume_problem(record, now, /*check_expiry=*/!agent)) {
      fail_recorded(record, *problem);
      continue;
    }
    if (record.state == RunState::uploading &&
        !journal_.transition(record.run_id, RunState::spooled, "resuming after a restart", now)) {
      continue;
    }
    keep.insert(record.spool->spool_file);
    if (agent && !creds_usable(record.creds, now)) {
      kLog.info("spooled run waits for upload credentials",
                {{"job_id", record.job_id}, {"run_id", record.run_id}});
      continue;  // parked: request_missing_credentials() asks once the session is up
    }
    auto run = run_from_record(record);
    run->resume_upload = true;
    to_start.push_back(std::move(run));
    kLog.info("resuming the upload of a spooled run",
              {{"job_id", record.job_id}, {"run_id", record.run_id}});
  }
  for (const auto& name : detail::sweep_spool(options_.spool_dir, keep)) {
    kLog.info("removed an orphaned spool file", {{"file", name}});
  }
  std::error_code ec;
  std::filesystem::remove_all(options_.work_dir, ec);
  core::ensure_private_dir(options_.work_dir);
  for (auto& run : to_start) start(std::move(run));
}

std::optional<std::string> RunManager::Impl::resume_problem(const state::RunRecord& record,
                                                            std::uint64_t now,
                                                            bool check_expiry) const {
  if (record.secrets_unreadable) {
    return std::string(
        "cannot resume the upload after a restart: its credentials were sealed under another "
        "agent key");
  }
  if (!record.spool) return std::string("cannot resume the upload: no spool file was recorded");
  if (check_expiry && record.creds.expires_at_ms != 0 && record.creds.expires_at_ms <= now) {
    return "cannot resume the upload after a restart: its credentials expired at " +
           core::iso8601_utc(record.creds.expires_at_ms);
  }
  return std::nullopt;
}

// Why a queued run cannot start again after a restart, if it cannot.
std::optional<std::string> RunManager::Impl::restart_problem(const state::RunRecord& record,
                                                             std::uint64_t now) {
  if (record.secrets_unreadable) {
    return std::string(
        "cannot start after a restart: its secrets were sealed under another agent key");
  }
  if (record.origin == state::RunOrigin::server && record.creds.expires_at_ms != 0 &&
      record.creds.expires_at_ms <= now) {
    return "cannot start after a restart: its upload credentials expired at " +
           core::iso8601_utc(record.creds.expires_at_ms);
  }
  if (record.encryption_enabled && record.encrypted_dek.size() != 32) {
    return std::string("cannot start after a restart: its data key is missing");
  }
  return detail::admit_job(record.job_id, *config_(), options_, drivers_).refusal;
}

// A run left RUNNING by a crash: that attempt failed. Retried if the policy
// (and, for server runs, the credentials) allow it — the run to start is
// returned — else FAILED.
std::shared_ptr<ActiveRun> RunManager::Impl::retry_or_fail_crashed(const state::RunRecord& record,
                                                                   std::uint64_t now) {
  const std::string reason =
      "the agent restarted while the run was running; its dump did not finish";
  detail::Admission admission = detail::admit_job(record.job_id, *config_(), options_, drivers_);
  const auto delay = admission.refusal || record.secrets_unreadable
                         ? std::nullopt
                         : scheduling::retry_delay(admission.job.retry(), record.attempt);
  if (!delay) {
    fail_recorded(record, reason);
    return nullptr;
  }
  const std::uint64_t at = now + static_cast<std::uint64_t>(delay->count()) * 1000;
  if (record.origin == state::RunOrigin::server &&
      !scheduling::retry_allowed_by_credentials(record.creds.expires_at_ms, at)) {
    fail_recorded(record, reason + " (no retry: the upload credentials expire at " +
                              core::iso8601_utc(record.creds.expires_at_ms) + ")");
    return nullptr;
  }
  const std::uint32_t next = record.attempt + 1;
  bool moved = false;
  db_.transaction([&](sqlite3*) {
    moved = journal_.schedule_retry(record.run_id, RunState::queued, next, at, reason, now);
    if (!moved) return;
    report_(detail::job_update(
        record.job_id, record.run_id, next, backup::v1::QUEUED,
        detail::retry_step(next, admission.job.retry().max_attempts(), at, reason), 0, reason));
  });
  if (!moved) return nullptr;
  std::error_code ec;
  std::filesystem::remove(options_.spool_dir / detail::spool_file_name(record.run_id), ec);
  auto retried = journal_.get(record.run_id);
  if (!retried) return nullptr;
  kLog.warn("run interrupted by a restart; retrying", {{"job_id", record.job_id},
                                                       {"run_id", record.run_id},
                                                       {"next_attempt", next},
                                                       {"at", core::iso8601_utc(at)}});
  return run_from_record(*retried);
}

void RunManager::Impl::fail_recorded(const state::RunRecord& record, const std::string& reason) {
  db_.transaction([&](sqlite3*) {
    if (!journal_.transition(record.run_id, RunState::failed, reason, options_.now_ms())) return;
    report_(detail::job_update(record.job_id, record.run_id, record.attempt, backup::v1::FAILED,
                               detail::step::queued, 0, reason));
  });
  std::error_code ec;
  if (record.spool) std::filesystem::remove(options_.spool_dir / record.spool->spool_file, ec);
  kLog.error("run failed during recovery",
             {{"job_id", record.job_id}, {"run_id", record.run_id}, {"reason", reason}});
}

}  // namespace backupy::runs
