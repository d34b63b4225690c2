#include "run_worker.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/drivers/driver.hpp"
#include "backupy/hooks/hook_runner.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/scheduling/maintenance_window.hpp"
#include "backupy/scheduling/retry.hpp"
#include "backupy/stream/cancelled.hpp"
#include "backupy/upload/put_file.hpp"
#include "reports.hpp"
#include "spool_dir.hpp"

namespace backupy::runs::detail {
namespace {

namespace fs = std::filesystem;
using state::RunState;

const core::Logger kLog("runs");

// How far a run got; decides what an interruption means for it.
enum class Stage { queued, running, spooled, uploading };

// A failure with exactly the reason the run reports.
class RunFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A failure another attempt cannot fix (a damaged spool file): never retried.
class FinalFailure : public RunFailure {
 public:
  using RunFailure::RunFailure;
};

std::string bytes_text(std::uint64_t bytes) {
  return std::to_string(bytes) + " bytes";
}

class Worker {
 public:
  Worker(WorkerServices& services, ActiveRun& run)
      : s_(services),
        run_(run),
        spool_name_(spool_file_name(run.run_id)),
        spool_path_(services.options.spool_dir / spool_name_) {}

  void execute() {
    Stage stage = run_.resume_upload ? Stage::spooled : Stage::queued;
    bool started = run_.resume_upload;
    bool spool_checked = false;
    for (;;) {
      try {
        if (stage == Stage::queued) {
          wait_until_ready();
          if (!run_.dump_ticket) run_.dump_ticket = s_.dump_slots.enqueue();
          std::optional<SlotGate::Slot> slot =
              s_.dump_slots.acquire(std::move(*run_.dump_ticket), run_.stop_token());
          run_.dump_ticket.reset();
          if (!slot || !s_.dump_hold.enter(run_.stop_token(), [this] { enter_running(); })) {
            throw stream::Cancelled();
          }
          stage = Stage::running;
          started = true;
          run_pre_hooks();
          dump();
          stage = Stage::spooled;
          spool_checked = true;
        } else {
          if (!spool_checked) {
            spool_ = run_.spool;
            s_.on_started(run_);  // the timeout covers the resumed upload too
            verify_resumed_spool();
            spool_checked = true;
          }
          wait_not_before();
        }
        if (needs_credentials()) {
          park();
          return;
        }
        upload(stage);
        complete();
      } catch (const stream::Cancelled&) {
        interrupted(stage);
      } catch (const std::exception& e) {
        if (run_.stop_token().stop_requested()) {
          interrupted(stage);
        } else {
          const std::string reason = core::redact(failure_reason(e));
          const bool final = dynamic_cast<const FinalFailure*>(&e) != nullptr;
          if (!final && retry(stage, reason)) continue;
          end(RunState::failed, reason + no_retry_note_);
        }
      }
      break;
    }
    if (started && outcome_) run_post_hooks();
  }

 private:
  // ---- waits before the dump -----------------------------------------------

  // A retry's backoff, then (scheduled runs) the maintenance window. A run
  // that has to wait gives up its place in the dump-slot line meanwhile and
  // takes a new one when it is ready.
  void wait_until_ready() {
    wait_not_before();
    hold_for_window();
  }

  void wait_not_before() {
    if (run_.not_before_ms <= s_.now_ms()) return;
    run_.dump_ticket.reset();
    kLog.info("run waits for its retry", {{"job_id", run_.job_id},
                                          {"run_id", run_.run_id},
                                          {"attempt", run_.attempt},
                                          {"at", core::iso8601_utc(run_.not_before_ms)}});
    if (!s_.wait_until(run_.not_before_ms, run_.stop_token())) throw stream::Cancelled();
  }

  void hold_for_window() {
    if (!run_.scheduled) return;
    std::uint64_t reported_until = 0;
    for (;;) {
      const auto window = scheduling::MaintenanceWindow::from_config(s_.config()->maintenance());
      const std::uint64_t now = s_.now_ms();
      const auto until = window.hold_until(
          std::chrono::sys_seconds(std::chrono::seconds(static_cast<std::int64_t>(now / 1000))));
      if (!until) return;
      const auto until_ms = static_cast<std::uint64_t>(until->time_since_epoch().count()) * 1000;
      run_.dump_ticket.reset();
      if (until_ms != reported_until) {
        reported_until = until_ms;
        const std::string step = window_step(window.describe(), until_ms);
        s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::QUEUED, step, 0));
        kLog.info("scheduled run held by the maintenance window",
                  {{"job_id", run_.job_id},
                   {"run_id", run_.run_id},
                   {"window", window.describe()},
                   {"until", core::iso8601_utc(until_ms)}});
      }
      if (!s_.wait_until(until_ms, run_.stop_token())) throw stream::Cancelled();
    }
  }

  // ---- retries -------------------------------------------------------------

  // Schedules the next attempt if the policy allows one; false (and maybe a
  // note for the failure reason) if not.
  bool retry(Stage& stage, const std::string& reason) {
    if (stage == Stage::queued) return false;  // nothing ran: nothing to try again
    const std::uint32_t failed = run_.attempt;
    const auto delay = scheduling::retry_delay(run_.job.retry(), failed);
    if (!delay) return false;
    const std::uint64_t now = s_.now_ms();
    const std::uint64_t at = now + static_cast<std::uint64_t>(delay->count()) * 1000;
    if (run_.origin == state::RunOrigin::server) {
      const std::uint64_t expires = run_.creds().expires_at_ms;
      if (!scheduling::retry_allowed_by_credentials(expires, at)) {
        no_retry_note_ =
            " (no retry: the upload credentials expire at " + core::iso8601_utc(expires) + ")";
        return false;
      }
    }
    const bool upload_only = stage == Stage::spooled || stage == Stage::uploading;
    const RunState to = upload_only ? RunState::spooled : RunState::queued;
    if (!upload_only) remove_spool();
    const std::uint32_t next = failed + 1;
    const std::string step = retry_step(next, run_.job.retry().max_attempts(), at, reason);
    s_.db.transaction([&](sqlite3*) {
      if (!s_.journal.schedule_retry(run_.run_id, to, next, at, reason, now)) {
        throw std::logic_error("the journal refused the retry of run " + run_.run_id);
      }
      s_.report(job_update(run_.job_id, run_.run_id, next, backup::v1::QUEUED, step, 0, reason));
    });
    run_.attempt = next;
    run_.not_before_ms = at;
    s_.on_retry_wait(run_);
    if (!upload_only) {
      // The dump starts over and needs its key again (dump() wiped the copy).
      const auto record = s_.journal.get(run_.run_id);
      if (run_.encryption_enabled && (!record || record->encrypted_dek.size() != 32)) {
        throw std::logic_error("the data key of run " + run_.run_id + " is gone");
      }
      if (record) run_.dek = record->encrypted_dek;
    }
    stage = upload_only ? Stage::spooled : Stage::queued;
    step_ = upload_only ? step::waiting_for_upload : step::queued;
    kLog.warn("run attempt failed; retrying", {{"job_id", run_.job_id},
                                               {"run_id", run_.run_id},
                                               {"attempt", failed},
                                               {"next_attempt", next},
                                               {"at", core::iso8601_utc(at)},
                                               {"reason", reason}});
    return true;
  }

  // ---- agent-made runs: credentials ----------------------------------------

  bool needs_credentials() const {
    if (run_.origin != state::RunOrigin::agent) return false;
    return !creds_usable(run_.creds(), s_.now_ms());
  }

  // Spooled, no usable credentials: the worker ends and the run waits in the
  // journal; the answer to the UploadCredsRequest (a RunBackup) resumes it.
  void park() {
    step_ = step::waiting_for_credentials;
    run_.parked = true;
    s_.db.transaction([&](sqlite3*) {
      const auto record = s_.journal.get(run_.run_id);
      if (!record) throw std::logic_error("run " + run_.run_id + " vanished from the journal");
      s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, 0));
      s_.report(upload_creds_request(*record));
    });
    kLog.info("run spooled; waiting for upload credentials",
              {{"job_id", run_.job_id}, {"run_id", run_.run_id}});
  }

  // ---- steps -------------------------------------------------------------

  void enter_running() {
    const bool hooks = run_.job.pre_hooks_size() > 0;
    step_ = hooks ? step::pre_hooks : step::dumping;
    commit(RunState::running, "",
           {job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, 0)});
    s_.on_started(run_);
    kLog.info("run started", {{"job_id", run_.job_id},
                              {"run_id", run_.run_id},
                              {"target_id", run_.target.id()},
                              {"db_type", drivers::db_type_name(run_.target.type())}});
  }

  void run_pre_hooks() {
    for (const std::string& command : run_.job.pre_hooks()) {
      const hooks::HookResult result =
          hooks::run_hook(command, hooks::Phase::pre, hook_context(), std::nullopt, hook_options(),
                          run_.stop_token());
      report_hook(result);
      if (result.stopped) throw stream::Cancelled();
      if (!result.ok()) throw RunFailure(result.describe());
    }
  }

  void dump() {
    ScratchDir scratch(s_.options.work_dir / spool_name_);
    std::unique_ptr<drivers::Driver> driver =
        s_.drivers.create({.target = run_.target,
                           .temp_dir = scratch.path(),
                           .docker_socket = s_.options.docker_socket});
    set_step(step::dumping);
    const std::string version = driver->probe();
    const std::optional<std::uint64_t> hint = driver->size_hint();

    pipeline::PipelineOptions options;
    options.codec = compress::parse_codec(run_.job.compression()).value_or(compress::Codec::zstd);
    if (options.codec == compress::Codec::zstd) options.compress = s_.options.zstd;
    // The raw key is needed only while the pipeline encrypts (BackupCompleted
    // echoes the journal's sealed copy): every copy here is wiped on the way out.
    struct KeyWipe {
      std::optional<std::array<std::uint8_t, 32>>& key;
      std::vector<std::uint8_t>& source;
      ~KeyWipe() {
        if (key) crypto::secure_wipe(*key);
        crypto::secure_wipe(source);
        source.clear();
      }
    } wipe{options.dek, run_.dek};
    if (run_.encryption_enabled) {
      // Admission checked the size; never encrypt under a padded or empty key.
      if (run_.dek.size() != 32) throw std::logic_error("run has no 32-byte data key");
      options.dek.emplace();
      std::copy(run_.dek.begin(), run_.dek.end(), options.dek->begin());
    }
    options.spool_path = spool_path_;
    options.max_spool_bytes = spool_budget();
    options.progress_every_bytes = 1 << 20;
    options.on_progress = [&](std::uint64_t raw) { progress(hint ? percent_of(raw, *hint) : 0); };
    pipeline::PipelineResult result;
    try {
      result = pipeline::run_pipeline(
          [&](stream::ByteSink& sink) { driver->dump(sink, run_.stop_token()); }, options,
          run_.stop_token());
    } catch (const pipeline::BudgetExceeded& e) {
      throw RunFailure("the backup needs more spool space than the budget allows (" +
                       bytes_text(e.budget_bytes()) + " left of BACKUPY_SPOOL_MAX_BYTES=" +
                       bytes_text(s_.options.spool_max_bytes) + "); partial spool file removed");
    }
    if (result.raw_bytes == 0) {
      std::error_code ec;
      fs::remove(spool_path_, ec);
      throw RunFailure("the dump of target " + run_.target.id() + " produced no data");
    }
    spool_ = state::SpoolResult{.spool_file = spool_name_,
                                .raw_bytes = result.raw_bytes,
                                .stored_bytes = result.stored_bytes,
                                .sha256_hex = result.sha256_hex,
                                .compression = result.compression,
                                .db_engine_version = version};
    step_ = step::waiting_for_upload;
    s_.db.transaction([&](sqlite3*) {
      if (!s_.journal.mark_spooled(run_.run_id, spool_, s_.now_ms())) {
        throw std::logic_error("the journal refused running -> spooled for run " + run_.run_id);
      }
      // An agent-made run's raw DEK is not needed any more: only the wrapped one is.
      if (run_.origin == state::RunOrigin::agent) s_.journal.wipe_dek(run_.run_id);
      s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, 0));
    });
    kLog.info("run spooled", {{"job_id", run_.job_id},
                              {"run_id", run_.run_id},
                              {"raw_bytes", result.raw_bytes},
                              {"stored_bytes", result.stored_bytes},
                              {"compression", result.compression},
                              {"db_engine_version", version}});
  }

  // Remaining room in the spool budget, after the files already queued.
  std::uint64_t spool_budget() const {
    const std::uint64_t budget = s_.options.spool_max_bytes;
    if (budget == 0) return 0;
    const std::uint64_t used = spool_usage(s_.options.spool_dir, spool_name_);
    if (used >= budget) {
      throw RunFailure("the spool budget (BACKUPY_SPOOL_MAX_BYTES=" + bytes_text(budget) +
                       ") is used up by " + bytes_text(used) + " of backups waiting for upload");
    }
    return budget - used;
  }

  void verify_resumed_spool() {
    if (auto problem = check_spool_file(spool_path_, spool_.stored_bytes, spool_.sha256_hex)) {
      throw FinalFailure("cannot resume the upload after a restart: " + *problem);
    }
  }

  void upload(Stage& stage) {
    step_ = step::waiting_for_upload;
    std::optional<SlotGate::Slot> slot = s_.upload_slots.acquire(run_.stop_token());
    if (!slot) throw stream::Cancelled();
    step_ = step::uploading;
    commit(RunState::uploading, "",
           {job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, 0)});
    stage = Stage::uploading;

    std::uint64_t generation = 0;
    const state::UploadCreds creds = run_.creds(&generation);
    upload::UploadRequest request{.presigned_put_url = creds.presigned_put_url,
                                  .expires_at_ms = creds.expires_at_ms,
                                  .file = spool_path_};
    const upload::UploadOutcome outcome = upload::put_file(
        request, s_.options.upload, run_.stop_token(),
        [&](std::uint64_t sent) { progress(percent_of(sent, spool_.stored_bytes)); },
        [&](upload::UploadRequest& current) {
          std::uint64_t latest = 0;
          state::UploadCreds fresh = run_.creds(&latest);
          if (latest == generation) return false;
          generation = latest;
          current.presigned_put_url = std::move(fresh.presigned_put_url);
          current.expires_at_ms = fresh.expires_at_ms;
          return true;
        });
    if (outcome.attempts > 1 && s_.options.on_upload_retries) {
      s_.options.on_upload_retries(outcome.attempts - 1);
    }
    if (outcome.cancelled) throw stream::Cancelled();
    if (!outcome.ok) throw RunFailure(outcome.error);
  }

  void complete() {
    s_.db.transaction([&](sqlite3*) {
      transition(RunState::completed, "");
      const std::optional<state::RunRecord> record = s_.journal.get(run_.run_id);
      if (!record) throw std::logic_error("run " + run_.run_id + " vanished from the journal");
      const std::uint64_t now = s_.now_ms();
      const std::uint64_t started = record->started_ms ? record->started_ms : record->created_ms;
      s_.report(backup_completed(*record, now > started ? now - started : 0));
      s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::SUCCESS,
                           step::completed, 100));
    });
    run_.finished = true;
    outcome_ = hooks::RunOutcome{
        .status = "success", .size_bytes = spool_.stored_bytes, .sha256 = spool_.sha256_hex};
    remove_spool();
    kLog.info("run completed", {{"job_id", run_.job_id},
                                {"run_id", run_.run_id},
                                {"size_bytes", spool_.stored_bytes},
                                {"sha256", spool_.sha256_hex}});
  }

  // The stop token fired (or a stage saw it): what that means depends on why.
  void interrupted(Stage stage) {
    switch (run_.stop_reason()) {
      case StopReason::cancelled:
        end(RunState::cancelled, "cancelled by the control plane");
        return;
      case StopReason::timed_out:
        end(RunState::failed, "timed out after " + std::to_string(run_.job.timeout_sec()) + " s");
        return;
      case StopReason::shutdown:
        if (stage == Stage::queued) {
          // Nothing ran (or a retry waits): the journal keeps it queued and the
          // next start runs it.
          kLog.info("queued run kept for the next start",
                    {{"job_id", run_.job_id}, {"run_id", run_.run_id}});
          return;
        }
        if (stage == Stage::spooled || stage == Stage::uploading) {
          // The blob is safe on disk: the next start resumes the upload.
          if (stage == Stage::uploading) {
            transition_alone(RunState::spooled, "upload interrupted by shutdown");
          }
          kLog.info("upload interrupted by shutdown; it resumes at the next start",
                    {{"job_id", run_.job_id}, {"run_id", run_.run_id}});
          return;
        }
        end(RunState::failed,
            "the agent shut down during the run (step " + std::string(step_) + ")");
        return;
      case StopReason::none: break;
    }
    end(RunState::failed, "the run was stopped");
  }

  // A terminal state other than completed, reported with its reason.
  void end(RunState state, const std::string& raw_reason) {
    const std::string reason = core::redact(raw_reason);
    // Before the report: once the control plane hears "failed", nothing of the
    // run is left on disk. (A crash in between leaves a spooled run without
    // its file, which recovery fails with that reason.)
    remove_spool();
    try {
      s_.db.transaction([&](sqlite3*) {
        transition(state, reason);
        s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, wire_status(state), step_, 0,
                             reason));
      });
    } catch (const std::exception& e) {
      // The journal is unusable (disk full, I/O error): the run is over either
      // way; recovery reports it at the next start.
      kLog.error("cannot record the end of a run",
                 {{"run_id", run_.run_id}, {"error", core::redact(e.what())}});
    }
    run_.finished = true;
    outcome_ = hooks::RunOutcome{.status = state == RunState::cancelled ? "cancelled" : "failed"};
    kLog.log(state == RunState::cancelled ? core::LogLevel::warn : core::LogLevel::error,
             state == RunState::cancelled ? "run cancelled" : "run failed",
             {{"job_id", run_.job_id},
              {"run_id", run_.run_id},
              {"step", std::string(step_)},
              {"reason", reason}});
  }

  void run_post_hooks() {
    if (run_.job.post_hooks_size() == 0) return;
    if (!s_.options.hooks_enabled) {
      kLog.warn("post hooks skipped: hooks are disabled on this agent",
                {{"job_id", run_.job_id}, {"run_id", run_.run_id}});
      return;
    }
    for (const std::string& command : run_.job.post_hooks()) {
      const hooks::HookResult result = hooks::run_hook(command, hooks::Phase::post, hook_context(),
                                                       outcome_, hook_options(), s_.shutdown);
      report_hook(result);
    }
  }

  // ---- helpers -----------------------------------------------------------

  // Driver and run failures already name their object; anything else from the
  // dump (an I/O error, a codec failure) gets the target named.
  std::string failure_reason(const std::exception& e) const {
    if (dynamic_cast<const RunFailure*>(&e) != nullptr ||
        dynamic_cast<const drivers::DriverError*>(&e) != nullptr || step_ == step::uploading) {
      return e.what();
    }
    return "dump of target " + run_.target.id() + " failed: " + e.what();
  }

  hooks::HookContext hook_context() const {
    return {.job_id = run_.job_id,
            .run_id = run_.run_id,
            .target_id = run_.target.id(),
            .db_type = drivers::db_type_name(run_.target.type())};
  }

  hooks::HookOptions hook_options() const {
    hooks::HookOptions options;
    options.timeout = s_.options.hook_timeout;
    return options;
  }

  void report_hook(const hooks::HookResult& result) {
    const bool ok = result.ok();
    const std::string message =
        ok ? std::string(hooks::phase_name(result.phase)) + " hook finished" : result.describe();
    std::map<std::string, std::string> fields{
        {"run_id", run_.run_id},
        {"phase", hooks::phase_name(result.phase)},
        {"command", core::redact(result.command)},
        {"exit", result.status.describe()},
        {"duration_ms", std::to_string(result.duration.count())}};
    if (!result.stdout_tail.empty()) fields["stdout_tail"] = core::redact(result.stdout_tail);
    if (!result.stderr_tail.empty()) fields["stderr_tail"] = core::redact(result.stderr_tail);
    s_.report(log_event(ok ? backup::v1::INFO : backup::v1::ERROR, run_.job_id, message, fields));
    kLog.log(ok ? core::LogLevel::info : core::LogLevel::error, message,
             {{"job_id", run_.job_id},
              {"run_id", run_.run_id},
              {"phase", hooks::phase_name(result.phase)},
              {"exit", result.status.describe()},
              {"reported_upstream", true}});
  }

  void set_step(std::string_view step) {
    if (step_ == step) return;
    step_ = step;
    last_progress_ms_ = s_.now_ms();
    s_.report(job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, 0));
  }

  // At most one progress update per interval; transitions always report.
  void progress(std::uint32_t percent) {
    const std::uint64_t now = s_.now_ms();
    const auto interval = static_cast<std::uint64_t>(s_.options.progress_interval.count());
    if (now - last_progress_ms_ < interval) return;
    last_progress_ms_ = now;
    s_.report(
        job_update(run_.job_id, run_.run_id, run_.attempt, backup::v1::RUNNING, step_, percent));
  }

  // Journal transition + its reports, atomically.
  void commit(RunState to, const std::string& reason, std::vector<backup::v1::Envelope> reports) {
    s_.db.transaction([&](sqlite3*) {
      transition(to, reason);
      for (auto& envelope : reports) s_.report(std::move(envelope));
    });
    last_progress_ms_ = s_.now_ms();
  }

  void transition(RunState to, const std::string& reason) {
    if (!s_.journal.transition(run_.run_id, to, reason, s_.now_ms())) {
      throw std::logic_error("the journal refused the transition of run " + run_.run_id + " to " +
                             std::string(state::run_state_name(to)));
    }
  }

  void transition_alone(RunState to, const std::string& reason) {
    try {
      transition(to, reason);
    } catch (const std::exception& e) {
      kLog.error("cannot record a run's state",
                 {{"run_id", run_.run_id}, {"error", core::redact(e.what())}});
    }
  }

  void remove_spool() {
    std::error_code ec;
    fs::remove(spool_path_, ec);
  }

  WorkerServices& s_;
  ActiveRun& run_;
  const std::string spool_name_;
  const fs::path spool_path_;
  state::SpoolResult spool_;
  std::string_view step_ = step::queued;
  std::uint64_t last_progress_ms_ = 0;
  std::optional<hooks::RunOutcome> outcome_;  // set once the run ended
  std::string no_retry_note_;                 // why a retryable failure was not retried
};

}  // namespace

void run_worker(WorkerServices& services, ActiveRun& run) {
  Worker(services, run).execute();
}

}  // namespace backupy::runs::detail
