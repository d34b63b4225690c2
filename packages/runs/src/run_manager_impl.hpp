#pragma once
// RunManager's implementation class (private to the package). Its parts live in one file each:
//  - run_manager.cpp  commands (RunBackup, CancelJob, config changes), live runs, their worker
//                     threads, timeouts and waits
//  - recovery.cpp     start-up: what the journal says about the runs of the previous process
//  - agent_runs.cpp   agent_cron.v1: fires, data keys, parked runs waiting for credentials
//  - figures.cpp      what the heartbeat and the metrics read: queue depth, spool bytes, ended
//                     runs
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "active_run.hpp"
#include "admission.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/runs/run_manager.hpp"
#include "run_worker.hpp"
#include "slot_gate.hpp"

namespace backupy::runs {

using detail::ActiveRun;
using detail::creds_usable;
using detail::StopReason;
using state::RunState;

class RunManager::Impl {
 public:
  Impl(boost::asio::io_context& io, RunManagerOptions options, state::StateDb& db,
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
                  .dump_hold = dump_hold_,
                  .shutdown = shutdown_.get_token(),
                  .now_ms = options_.now_ms,
                  .config = config_,
                  .wait_until = [this](std::uint64_t deadline,
                                       std::stop_token stop) { return wait_until(deadline, stop); },
                  .on_started = [this](ActiveRun& run) { arm_timeout(run); },
                  .on_retry_wait = [this](ActiveRun& run) { disarm_timeout(run); }} {}

  static RunManagerOptions with_defaults(RunManagerOptions options);

  // report, plus on_run_ended for terminal JobUpdates. Reports of a terminal state are made
  // right after the journal's transition, in its transaction: the record read here is final.
  ReportFn observed(ReportFn report);

  std::optional<RunEnded> run_ended(const backup::v1::JobUpdate& update) const;

  void recover();

  backup::v1::Ack run_backup(const backup::v1::RunBackup& command);

  void schedule_run(const scheduling::Fire& fire);

  void request_missing_credentials();

  std::size_t queue_depth() const;
  std::size_t busy_runs() const;
  void hold_dumps() { dump_hold_.hold(); }

  std::uint64_t spool_bytes() const;

  backup::v1::Ack cancel_job(const std::string& job_id);

  void config_changed();

  std::vector<std::string> active_job_ids() const;

  std::size_t active_runs() const;

  void shutdown();

 private:
  static backup::v1::Ack ack(bool accepted, std::string reason = {}) {
    backup::v1::Ack result;
    result.set_accepted(accepted);
    result.set_reason(std::move(reason));
    return result;
  }

  // Waits for backoffs and windows re-read the (injectable) clock this often.
  static constexpr std::chrono::milliseconds kWaitSlice{100};

  static state::UploadCreds creds_of(const backup::v1::RunBackup& command) {
    return {.presigned_put_url = command.upload_creds().presigned_put_url(),
            .expires_at_ms = command.upload_creds().expires_at_ms(),
            .final_s3_key = command.upload_creds().final_s3_key()};
  }

  backup::v1::Ack repeated(const state::RunRecord& known, const backup::v1::RunBackup& command);

  std::optional<std::string> resume_problem(const state::RunRecord& record, std::uint64_t now,
                                            bool check_expiry) const;

  // Why a queued run cannot start again after a restart, if it cannot.
  std::optional<std::string> restart_problem(const state::RunRecord& record, std::uint64_t now);

  // A run left RUNNING by a crash: that attempt failed. Retried if the policy
  // (and, for server runs, the credentials) allow it — the run to start is
  // returned — else FAILED.
  std::shared_ptr<ActiveRun> retry_or_fail_crashed(const state::RunRecord& record,
                                                   std::uint64_t now);

  // A parked agent-made run whose credentials are usable now starts its upload.
  bool resume_parked(const state::RunRecord& record);

  // A worker that will take the run to its end (a parking worker will not).
  bool has_worker(const std::string& run_id) const;

  // Blocks a worker until the injectable clock reaches deadline_ms or stop.
  // Re-reads the clock every slice (and at wake_waits()), so tests that move
  // their clock see the wait end promptly.
  bool wait_until(std::uint64_t deadline_ms, std::stop_token stop);

  void wake_waits();

  // Makes and wraps an agent-made run's DEK; the reason if it cannot.
  std::optional<std::string> make_dek(const backup::v1::AgentConfig& config,
                                      state::RunRecord& record, crypto::Bytes& dek);

  void fail_recorded(const state::RunRecord& record, const std::string& reason);

  // A run rebuilt from its journal row, with the job and target of the
  // current config (what was admitted is gone after a restart).
  std::shared_ptr<ActiveRun> run_from_record(const state::RunRecord& record);

  // The live run of a record admission accepted (RunBackup or an agent fire).
  static std::shared_ptr<ActiveRun> admitted_run(const state::RunRecord& record,
                                                 detail::Admission admission);

  void start(std::shared_ptr<ActiveRun> run);

  // Worker thread: the run entered RUNNING (or resumed its upload).
  void arm_timeout(ActiveRun& run);

  // Worker thread: the attempt ended and the run waits for a retry.
  void disarm_timeout(ActiveRun& run);

  void reap(const std::string& run_id);

  boost::asio::io_context& io_;
  RunManagerOptions options_;
  state::StateDb& db_;
  state::RunJournal& journal_;
  const drivers::DriverRegistry& drivers_;
  ConfigSource config_;
  ReportFn report_;
  detail::SlotGate dump_slots_;
  detail::SlotGate upload_slots_;
  detail::DumpHold dump_hold_;
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

}  // namespace backupy::runs
