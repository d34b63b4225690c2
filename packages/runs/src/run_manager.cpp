#include "backupy/runs/run_manager.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "active_run.hpp"
#include "admission.hpp"
#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/scheduling/retry.hpp"
#include "default_key_wrap.hpp"
#include "reports.hpp"
#include "run_worker.hpp"
#include "slot_gate.hpp"
#include "spool_dir.hpp"

namespace backupy::runs {

namespace asio = boost::asio;
using detail::ActiveRun;
using detail::StopReason;
using state::RunState;

namespace {

const core::Logger kLog("runs");

backup::v1::Ack ack(bool accepted, std::string reason = {}) {
  backup::v1::Ack result;
  result.set_accepted(accepted);
  result.set_reason(std::move(reason));
  return result;
}

// Waits for backoffs and windows re-read the (injectable) clock this often.
constexpr std::chrono::milliseconds kWaitSlice{100};
// Agent-made runs ask for fresh credentials when theirs expire this soon.
constexpr std::uint64_t kCredsMarginMs = 60'000;

bool creds_usable(const state::UploadCreds& creds, std::uint64_t now) {
  if (creds.presigned_put_url.empty()) return false;
  return creds.expires_at_ms == 0 || creds.expires_at_ms >= now + kCredsMarginMs;
}

state::UploadCreds creds_of(const backup::v1::RunBackup& command) {
  return {.presigned_put_url = command.upload_creds().presigned_put_url(),
          .expires_at_ms = command.upload_creds().expires_at_ms(),
          .final_s3_key = command.upload_creds().final_s3_key()};
}

}  // namespace

class RunManager::Impl {
 public:
  Impl(asio::io_context& io, RunManagerOptions options, state::StateDb& db,
       state::RunJournal& journal, const drivers::DriverRegistry& drivers, ConfigSource config,
       ReportFn report)
      : io_(io),
        options_(with_defaults(std::move(options))),
        db_(db),
        journal_(journal),
        drivers_(drivers),
        config_(std::move(config)),
        report_(observed(std::move(report))),
        dump_slots_([this] { return config_()->advanced().max_parallel_jobs(); }),
        upload_slots_([this] { return options_.max_parallel_uploads; }),
        services_{.options = options_,
                  .db = db_,
                  .journal = journal_,
                  .drivers = drivers_,
                  .report = report_,
                  .dump_slots = dump_slots_,
                  .upload_slots = upload_slots_,
                  .shutdown = shutdown_.get_token(),
                  .now_ms = options_.now_ms,
                  .config = config_,
                  .wait_until = [this](std::uint64_t deadline,
                                       std::stop_token stop) { return wait_until(deadline, stop); },
                  .on_started = [this](ActiveRun& run) { arm_timeout(run); },
                  .on_retry_wait = [this](ActiveRun& run) { disarm_timeout(run); }} {}

  static RunManagerOptions with_defaults(RunManagerOptions options) {
    if (!options.now_ms) options.now_ms = [] { return core::now_ms(); };
    if (!options.wrap_dek) options.wrap_dek = detail::default_wrap_dek;
    return options;
  }

  // report, plus on_run_ended for terminal JobUpdates. Reports of a terminal state are made
  // right after the journal's transition, in its transaction: the record read here is final.
  ReportFn observed(ReportFn report) {
    if (!options_.on_run_ended) return report;
    return [this, report = std::move(report)](backup::v1::Envelope envelope) {
      if (envelope.has_job_update()) {
        if (auto ended = run_ended(envelope.job_update())) options_.on_run_ended(*ended);
      }
      report(std::move(envelope));
    };
  }

  std::optional<RunEnded> run_ended(const backup::v1::JobUpdate& update) const {
    const auto status = update.status();
    if (status != backup::v1::SUCCESS && status != backup::v1::FAILED &&
        status != backup::v1::CANCELLED) {
      return std::nullopt;
    }
    RunEnded ended{.job_id = update.job_id(), .status = status};
    const auto record = journal_.get(update.run_id());
    ended.finished_ms = record && record->finished_ms ? record->finished_ms : options_.now_ms();
    if (!record) return ended;
    ended.target_id = record->target_id;
    const std::uint64_t started = record->started_ms ? record->started_ms : record->created_ms;
    ended.duration_ms = ended.finished_ms > started ? ended.finished_ms - started : 0;
    if (record->spool) {
      ended.raw_bytes = record->spool->raw_bytes;
      ended.stored_bytes = record->spool->stored_bytes;
    }
    return ended;
  }

  void recover() {
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

  backup::v1::Ack run_backup(const backup::v1::RunBackup& command) {
    if (command.run_id().empty()) {
      kLog.error("RunBackup without a run_id ignored", {{"job_id", command.job_id()}});
      return ack(false, "RunBackup needs a run_id");
    }
    if (auto known = journal_.get(command.run_id())) return repeated(*known, command);

    const std::uint64_t now = options_.now_ms();
    detail::Admission admission = detail::admit(command, *config_(), options_, drivers_, now);
    state::RunRecord record{.run_id = command.run_id(),
                            .job_id = command.job_id(),
                            .target_id = admission.job.target_id(),
                            .state = admission.refusal ? RunState::failed : RunState::queued,
                            .manual_trigger = command.manual_trigger(),
                            .encryption_enabled = admission.job.encryption_enabled(),
                            .reason = admission.refusal.value_or(""),
                            .creds = creds_of(command)};
    if (record.encryption_enabled) {
      record.encrypted_dek.assign(command.encrypted_dek().begin(), command.encrypted_dek().end());
    }
    db_.transaction([&](sqlite3*) {
      journal_.insert(record, now);
      report_(admission.refusal
                  ? detail::job_update(record.job_id, record.run_id, 1, backup::v1::FAILED,
                                       detail::step::queued, 0, *admission.refusal)
                  : detail::job_update(record.job_id, record.run_id, 1, backup::v1::QUEUED,
                                       detail::step::queued, 0));
    });
    if (admission.refusal) {
      kLog.error(
          "run refused",
          {{"job_id", record.job_id}, {"run_id", record.run_id}, {"reason", *admission.refusal}});
      return ack(false, *admission.refusal);
    }
    auto run = admitted_run(record, std::move(admission));
    run->set_creds(record.creds);
    start(std::move(run));
    kLog.info("run queued", {{"job_id", record.job_id}, {"run_id", record.run_id}});
    return ack(true);
  }

  void schedule_run(const scheduling::Fire& fire) {
    const auto scheduled_for_ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(fire.scheduled_for.time_since_epoch())
            .count());
    for (const auto& other : journal_.in_states(
             {RunState::queued, RunState::running, RunState::spooled, RunState::uploading})) {
      if (other.job_id != fire.job_id) continue;
      const std::string state_name(state::run_state_name(other.state));
      const std::string message = "scheduled run skipped: run " + other.run_id + " of job " +
                                  fire.job_id + " is still " + state_name;
      report_(detail::log_event(backup::v1::WARN, fire.job_id, message,
                                {{"scheduled_for", core::iso8601_utc(scheduled_for_ms)},
                                 {"active_run_id", other.run_id}}));
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

  void request_missing_credentials() {
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

  std::size_t queue_depth() const {
    return journal_.in_states({RunState::queued, RunState::spooled}).size();
  }

  std::uint64_t spool_bytes() const { return detail::spool_usage(options_.spool_dir); }

  backup::v1::Ack cancel_job(const std::string& job_id) {
    std::size_t cancelled = 0;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, run] : runs_) {
        // A parked run's worker is ending: the journal loop below cancels it.
        if (run->job_id != job_id || run->finished || run->parked) continue;
        run->request_stop(StopReason::cancelled);
        ++cancelled;
      }
    }
    // Runs without a worker: parked agent-made runs waiting for credentials.
    for (const auto& record : journal_.in_states({RunState::queued, RunState::spooled})) {
      if (record.job_id != job_id || has_worker(record.run_id)) continue;
      db_.transaction([&](sqlite3*) {
        if (!journal_.transition(record.run_id, RunState::cancelled,
                                 "cancelled by the control plane", options_.now_ms())) {
          return;
        }
        report_(detail::job_update(
            record.job_id, record.run_id, record.attempt, backup::v1::CANCELLED,
            record.state == RunState::spooled ? detail::step::waiting_for_credentials
                                              : detail::step::queued,
            0, "cancelled by the control plane"));
        ++cancelled;
      });
      std::error_code ec;
      if (record.spool) std::filesystem::remove(options_.spool_dir / record.spool->spool_file, ec);
    }
    if (cancelled == 0) return ack(false, "no active run for job " + core::quoted(job_id));
    kLog.info("cancelling runs", {{"job_id", job_id}, {"runs", cancelled}});
    return ack(true, "cancelling " + std::to_string(cancelled) + " run" +
                         (cancelled == 1 ? "" : "s") + " of job " + core::quoted(job_id));
  }

  void config_changed() {
    dump_slots_.limit_changed();
    wake_waits();  // a changed maintenance window
  }

  std::vector<std::string> active_job_ids() const {
    std::set<std::string> ids;
    std::lock_guard lock(mutex_);
    for (const auto& [id, run] : runs_) {
      if (!run->finished) ids.insert(run->job_id);
    }
    return {ids.begin(), ids.end()};
  }

  std::size_t active_runs() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [id, run] : runs_) n += run->finished ? 0 : 1;
    return n;
  }

  void shutdown() {
    if (shutdown_.stop_requested()) return;
    shutdown_.request_stop();
    std::map<std::string, std::shared_ptr<ActiveRun>> runs;
    {
      std::lock_guard lock(mutex_);
      runs.swap(runs_);
    }
    for (auto& [id, run] : runs) run->request_stop(StopReason::shutdown);
    for (auto& [id, run] : runs) {
      if (run->thread.joinable()) run->thread.join();
    }
  }

 private:
  backup::v1::Ack repeated(const state::RunRecord& known, const backup::v1::RunBackup& command) {
    const std::string state_name(state::run_state_name(known.state));
    if (state::is_terminal(known.state)) {
      kLog.info("repeated RunBackup for a finished run ignored",
                {{"run_id", known.run_id}, {"state", state_name}});
      return ack(false, "run " + core::quoted(known.run_id) + " already finished (" + state_name +
                            "); it is not started again");
    }
    const state::UploadCreds creds = creds_of(command);
    if (creds.presigned_put_url.empty()) {
      return ack(true, "run " + core::quoted(known.run_id) + " is already " + state_name);
    }
    journal_.update_creds(known.run_id, creds, options_.now_ms());
    bool live = false;
    {
      std::lock_guard lock(mutex_);
      if (auto it = runs_.find(known.run_id); it != runs_.end()) {
        it->second->set_creds(creds);
        live = true;  // a worker that is parking hands over to reap(), which looks again
      }
    }
    if (!live && known.state == RunState::spooled && known.origin == state::RunOrigin::agent) {
      if (auto record = journal_.get(known.run_id); record && resume_parked(*record)) {
        return ack(true, "run " + core::quoted(known.run_id) + " starts its upload");
      }
    }
    kLog.info("upload credentials refreshed", {{"run_id", known.run_id}, {"state", state_name}});
    return ack(true, "run " + core::quoted(known.run_id) + " is already " + state_name +
                         "; its upload credentials were refreshed");
  }

  std::optional<std::string> resume_problem(const state::RunRecord& record, std::uint64_t now,
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
  std::optional<std::string> restart_problem(const state::RunRecord& record, std::uint64_t now) {
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
  std::shared_ptr<ActiveRun> retry_or_fail_crashed(const state::RunRecord& record,
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

  // A parked agent-made run whose credentials are usable now starts its upload.
  bool resume_parked(const state::RunRecord& record) {
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

  // A worker that will take the run to its end (a parking worker will not).
  bool has_worker(const std::string& run_id) const {
    std::lock_guard lock(mutex_);
    auto it = runs_.find(run_id);
    return it != runs_.end() && !it->second->parked;
  }

  // Blocks a worker until the injectable clock reaches deadline_ms or stop.
  // Re-reads the clock every slice (and at wake_waits()), so tests that move
  // their clock see the wait end promptly.
  bool wait_until(std::uint64_t deadline_ms, std::stop_token stop) {
    std::unique_lock lock(wait_mutex_);
    for (;;) {
      if (stop.stop_requested()) return false;
      const std::uint64_t now = options_.now_ms();
      if (now >= deadline_ms) return true;
      const auto slice = std::min<std::chrono::milliseconds>(
          kWaitSlice, std::chrono::milliseconds(deadline_ms - now));
      const std::uint64_t generation = wake_generation_;
      wait_cv_.wait_for(lock, stop, slice, [&] { return wake_generation_ != generation; });
    }
  }

  void wake_waits() {
    {
      std::lock_guard lock(wait_mutex_);
      ++wake_generation_;
    }
    wait_cv_.notify_all();
  }

  // Makes and wraps an agent-made run's DEK; the reason if it cannot.
  std::optional<std::string> make_dek(const backup::v1::AgentConfig& config,
                                      state::RunRecord& record, crypto::Bytes& dek) {
    const auto& key = config.key_wrapping();
    if (key.key_id().empty() || key.x25519_public_key().empty()) {
      return "job " + core::quoted(record.job_id) +
             " is encrypted but the control plane published no key-wrapping key "
             "(AgentConfig.key_wrapping)";
    }
    dek = crypto::random_bytes(32);
    try {
      record.wrapped_dek =
          options_.wrap_dek(std::span<const std::uint8_t, 32>(dek.data(), 32), key);
    } catch (const std::exception& e) {
      return "cannot wrap the data key of job " + core::quoted(record.job_id) +
             " to key-wrapping key " + core::quoted(key.key_id()) + ": " + e.what();
    }
    record.dek_kms_id = key.key_id();
    record.encrypted_dek = dek;
    return std::nullopt;
  }

  void fail_recorded(const state::RunRecord& record, const std::string& reason) {
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

  // A run rebuilt from its journal row, with the job and target of the
  // current config (what was admitted is gone after a restart).
  std::shared_ptr<ActiveRun> run_from_record(const state::RunRecord& record) {
    auto run = std::make_shared<ActiveRun>();
    run->run_id = record.run_id;
    run->job_id = record.job_id;
    run->job.set_id(record.job_id);
    run->target.set_id(record.target_id);
    const auto config = config_();
    for (const auto& job : config->jobs()) {
      if (job.id() == record.job_id) run->job = job;
    }
    for (const auto& target : config->targets()) {
      if (target.id() == record.target_id) run->target = target;
    }
    run->encryption_enabled = record.encryption_enabled;
    run->dek = record.encrypted_dek;
    if (record.spool) run->spool = *record.spool;
    run->origin = record.origin;
    run->scheduled = record.origin == state::RunOrigin::agent || !record.manual_trigger;
    run->attempt = record.attempt;
    run->not_before_ms = record.not_before_ms;
    run->set_creds(record.creds);
    return run;
  }

  // The live run of a record admission accepted (RunBackup or an agent fire).
  static std::shared_ptr<ActiveRun> admitted_run(const state::RunRecord& record,
                                                 detail::Admission admission) {
    auto run = std::make_shared<ActiveRun>();
    run->run_id = record.run_id;
    run->job_id = record.job_id;
    run->job = std::move(admission.job);
    run->target = std::move(admission.target);
    run->encryption_enabled = record.encryption_enabled;
    run->dek = record.encrypted_dek;
    run->origin = record.origin;
    run->scheduled = !record.manual_trigger;
    return run;
  }

  void start(std::shared_ptr<ActiveRun> run) {
    ActiveRun& ref = *run;
    // Ready at once: its place in the dump-slot line is taken now, on the
    // control thread, so slots go in the order runs arrived (FIFO).
    if (!run->resume_upload && run->not_before_ms <= options_.now_ms()) {
      run->dump_ticket = dump_slots_.enqueue();
    }
    {
      std::lock_guard lock(mutex_);
      runs_[run->run_id] = run;
    }
    std::weak_ptr<int> alive = alive_;
    ref.thread = std::jthread([this, &ref, alive] {
      detail::run_worker(services_, ref);
      // The worker cannot join itself: the control thread reaps it.
      asio::post(io_, [this, alive, id = ref.run_id] {
        if (alive.lock()) reap(id);
      });
    });
  }

  // Worker thread: the run entered RUNNING (or resumed its upload).
  void arm_timeout(ActiveRun& run) {
    const unsigned seconds = run.job.timeout_sec();
    if (seconds == 0) return;
    std::weak_ptr<int> alive = alive_;
    asio::post(io_, [this, alive, id = run.run_id, seconds] {
      if (!alive.lock()) return;
      std::lock_guard lock(mutex_);
      auto it = runs_.find(id);
      if (it == runs_.end() || it->second->finished) return;
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(seconds));
      std::weak_ptr<ActiveRun> weak = it->second;
      timer->async_wait([weak](const boost::system::error_code& ec) {
        if (ec) return;
        if (auto run = weak.lock(); run && !run->finished) {
          run->request_stop(StopReason::timed_out);
        }
      });
      it->second->timeout_timer = std::move(timer);
    });
  }

  // Worker thread: the attempt ended and the run waits for a retry.
  void disarm_timeout(ActiveRun& run) {
    std::weak_ptr<int> alive = alive_;
    asio::post(io_, [this, alive, id = run.run_id] {
      if (!alive.lock()) return;
      std::lock_guard lock(mutex_);
      if (auto it = runs_.find(id); it != runs_.end()) it->second->timeout_timer.reset();
    });
  }

  void reap(const std::string& run_id) {
    std::shared_ptr<ActiveRun> run;
    {
      std::lock_guard lock(mutex_);
      auto it = runs_.find(run_id);
      if (it == runs_.end()) return;
      run = std::move(it->second);
      runs_.erase(it);
    }
    if (run->thread.joinable()) run->thread.join();
    run->timeout_timer.reset();  // cancels a pending timeout
    // Credentials may have come (repeated()) while the worker was parking.
    if (run->parked && !shutdown_.stop_requested()) {
      if (auto record = journal_.get(run_id)) resume_parked(*record);
    }
  }

  asio::io_context& io_;
  RunManagerOptions options_;
  state::StateDb& db_;
  state::RunJournal& journal_;
  const drivers::DriverRegistry& drivers_;
  ConfigSource config_;
  ReportFn report_;
  detail::SlotGate dump_slots_;
  detail::SlotGate upload_slots_;
  std::stop_source shutdown_;
  detail::WorkerServices services_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ActiveRun>> runs_;
  std::mutex wait_mutex_;
  std::condition_variable_any wait_cv_;
  std::uint64_t wake_generation_ = 0;
  // Handlers posted to the control thread check this before touching *this.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

RunManager::RunManager(asio::io_context& io, RunManagerOptions options, state::StateDb& db,
                       state::RunJournal& journal, const drivers::DriverRegistry& drivers,
                       ConfigSource config, ReportFn report)
    : impl_(std::make_unique<Impl>(io, std::move(options), db, journal, drivers, std::move(config),
                                   std::move(report))) {}

RunManager::~RunManager() {
  shutdown();
}

void RunManager::recover() {
  impl_->recover();
}
backup::v1::Ack RunManager::run_backup(const backup::v1::RunBackup& command) {
  return impl_->run_backup(command);
}
backup::v1::Ack RunManager::cancel_job(const std::string& job_id) {
  return impl_->cancel_job(job_id);
}
void RunManager::schedule_run(const scheduling::Fire& fire) {
  impl_->schedule_run(fire);
}
void RunManager::request_missing_credentials() {
  impl_->request_missing_credentials();
}
std::size_t RunManager::queue_depth() const {
  return impl_->queue_depth();
}
std::uint64_t RunManager::spool_bytes() const {
  return impl_->spool_bytes();
}
void RunManager::config_changed() {
  impl_->config_changed();
}
std::vector<std::string> RunManager::active_job_ids() const {
  return impl_->active_job_ids();
}
std::size_t RunManager::active_runs() const {
  return impl_->active_runs();
}
void RunManager::shutdown() {
  impl_->shutdown();
}

}  // namespace backupy::runs
