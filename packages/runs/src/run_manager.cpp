#include "backupy/runs/run_manager.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "active_run.hpp"
#include "admission.hpp"
#include "backupy/core/files.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/core/time.hpp"
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
        options_(std::move(options)),
        db_(db),
        journal_(journal),
        drivers_(drivers),
        config_(std::move(config)),
        report_(std::move(report)),
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
                  .now_ms = [] { return core::now_ms(); },
                  .on_started = [this](ActiveRun& run) { arm_timeout(run); }} {}

  void recover() {
    const std::uint64_t now = core::now_ms();
    for (const auto& record : journal_.in_states({RunState::queued, RunState::running})) {
      fail_recorded(record, "the agent restarted while the run was " +
                                std::string(state::run_state_name(record.state)) +
                                "; its dump did not finish");
    }
    std::set<std::string> keep;
    for (const auto& record : journal_.in_states({RunState::spooled, RunState::uploading})) {
      if (auto problem = resume_problem(record, now)) {
        fail_recorded(record, *problem);
        continue;
      }
      if (record.state == RunState::uploading &&
          !journal_.transition(record.run_id, RunState::spooled, "resuming after a restart", now)) {
        continue;
      }
      keep.insert(record.spool->spool_file);
      start(resumed_run(record));
      kLog.info("resuming the upload of a spooled run",
                {{"job_id", record.job_id}, {"run_id", record.run_id}});
    }
    for (const auto& name : detail::sweep_spool(options_.spool_dir, keep)) {
      kLog.info("removed an orphaned spool file", {{"file", name}});
    }
    std::error_code ec;
    std::filesystem::remove_all(options_.work_dir, ec);
    core::ensure_private_dir(options_.work_dir);
  }

  backup::v1::Ack run_backup(const backup::v1::RunBackup& command) {
    if (command.run_id().empty()) {
      kLog.error("RunBackup without a run_id ignored", {{"job_id", command.job_id()}});
      return ack(false, "RunBackup needs a run_id");
    }
    if (auto known = journal_.get(command.run_id())) return repeated(*known, command);

    const std::uint64_t now = core::now_ms();
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
                  ? detail::job_update(record.job_id, record.run_id, backup::v1::FAILED,
                                       detail::step::queued, 0, *admission.refusal)
                  : detail::job_update(record.job_id, record.run_id, backup::v1::QUEUED,
                                       detail::step::queued, 0));
    });
    if (admission.refusal) {
      kLog.error(
          "run refused",
          {{"job_id", record.job_id}, {"run_id", record.run_id}, {"reason", *admission.refusal}});
      return ack(false, *admission.refusal);
    }
    auto run = std::make_shared<ActiveRun>();
    run->run_id = record.run_id;
    run->job_id = record.job_id;
    run->job = std::move(admission.job);
    run->target = std::move(admission.target);
    run->encryption_enabled = record.encryption_enabled;
    run->dek = record.encrypted_dek;
    run->set_creds(record.creds);
    start(std::move(run));
    kLog.info("run queued", {{"job_id", record.job_id}, {"run_id", record.run_id}});
    return ack(true);
  }

  backup::v1::Ack cancel_job(const std::string& job_id) {
    std::size_t cancelled = 0;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, run] : runs_) {
        if (run->job_id != job_id || run->finished) continue;
        run->request_stop(StopReason::cancelled);
        ++cancelled;
      }
    }
    if (cancelled == 0) return ack(false, "no active run for job " + core::quoted(job_id));
    kLog.info("cancelling runs", {{"job_id", job_id}, {"runs", cancelled}});
    return ack(true, "cancelling " + std::to_string(cancelled) + " run" +
                         (cancelled == 1 ? "" : "s") + " of job " + core::quoted(job_id));
  }

  void config_changed() { dump_slots_.limit_changed(); }

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
    journal_.update_creds(known.run_id, creds, core::now_ms());
    {
      std::lock_guard lock(mutex_);
      if (auto it = runs_.find(known.run_id); it != runs_.end()) it->second->set_creds(creds);
    }
    kLog.info("upload credentials refreshed", {{"run_id", known.run_id}, {"state", state_name}});
    return ack(true, "run " + core::quoted(known.run_id) + " is already " + state_name +
                         "; its upload credentials were refreshed");
  }

  std::optional<std::string> resume_problem(const state::RunRecord& record,
                                            std::uint64_t now) const {
    if (record.secrets_unreadable) {
      return std::string(
          "cannot resume the upload after a restart: its credentials were sealed under another "
          "agent key");
    }
    if (!record.spool) return std::string("cannot resume the upload: no spool file was recorded");
    if (record.creds.expires_at_ms != 0 && record.creds.expires_at_ms <= now) {
      return "cannot resume the upload after a restart: its credentials expired at " +
             core::iso8601_utc(record.creds.expires_at_ms);
    }
    return std::nullopt;
  }

  void fail_recorded(const state::RunRecord& record, const std::string& reason) {
    db_.transaction([&](sqlite3*) {
      if (!journal_.transition(record.run_id, RunState::failed, reason, core::now_ms())) return;
      report_(detail::job_update(record.job_id, record.run_id, backup::v1::FAILED,
                                 detail::step::queued, 0, reason));
    });
    std::error_code ec;
    if (record.spool) std::filesystem::remove(options_.spool_dir / record.spool->spool_file, ec);
    kLog.error("run failed during recovery",
               {{"job_id", record.job_id}, {"run_id", record.run_id}, {"reason", reason}});
  }

  std::shared_ptr<ActiveRun> resumed_run(const state::RunRecord& record) {
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
    run->resume_upload = true;
    run->spool = *record.spool;
    run->set_creds(record.creds);
    return run;
  }

  void start(std::shared_ptr<ActiveRun> run) {
    ActiveRun& ref = *run;
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
