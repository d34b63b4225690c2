// RunManager: commands, live runs, their worker threads, timeouts and waits
// (run_manager_impl.hpp lists the other parts).

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "backupy/core/log.hpp"
#include "backupy/core/quote.hpp"
#include "default_key_wrap.hpp"
#include "reports.hpp"
#include "run_manager_impl.hpp"

namespace backupy::runs {

namespace asio = boost::asio;

namespace {

const core::Logger kLog("runs");

}  // namespace

RunManagerOptions RunManager::Impl::with_defaults(RunManagerOptions options) {
  if (!options.now_ms) options.now_ms = [] { return core::now_ms(); };
  if (!options.wrap_dek) options.wrap_dek = detail::default_wrap_dek;
  return options;
}

backup::v1::Ack RunManager::Impl::run_backup(const backup::v1::RunBackup& command) {
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

backup::v1::Ack RunManager::Impl::cancel_job(const std::string& job_id) {
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
      if (!journal_.transition(record.run_id, RunState::cancelled, "cancelled by the control plane",
                               options_.now_ms())) {
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

void RunManager::Impl::config_changed() {
  dump_slots_.limit_changed();
  wake_waits();  // a changed maintenance window
}

std::vector<std::string> RunManager::Impl::active_job_ids() const {
  std::set<std::string> ids;
  std::lock_guard lock(mutex_);
  for (const auto& [id, run] : runs_) {
    if (!run->finished) ids.insert(run->job_id);
  }
  return {ids.begin(), ids.end()};
}

std::size_t RunManager::Impl::active_runs() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [id, run] : runs_) n += run->finished ? 0 : 1;
  return n;
}

void RunManager::Impl::shutdown() {
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

backup::v1::Ack RunManager::Impl::repeated(const state::RunRecord& known,
                                           const backup::v1::RunBackup& command) {
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

// A worker that will take the run to its end (a parking worker will not).
bool RunManager::Impl::has_worker(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(run_id);
  return it != runs_.end() && !it->second->parked;
}

// Blocks a worker until the injectable clock reaches deadline_ms or stop.
// Re-reads the clock every slice (and at wake_waits()), so tests that move
// their clock see the wait end promptly.
bool RunManager::Impl::wait_until(std::uint64_t deadline_ms, std::stop_token stop) {
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

void RunManager::Impl::wake_waits() {
  {
    std::lock_guard lock(wait_mutex_);
    ++wake_generation_;
  }
  wait_cv_.notify_all();
}

// A run rebuilt from its journal row, with the job and target of the
// current config (what was admitted is gone after a restart).
std::shared_ptr<ActiveRun> RunManager::Impl::run_from_record(const state::RunRecord& record) {
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
std::shared_ptr<ActiveRun> RunManager::Impl::admitted_run(const state::RunRecord& record,
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

void RunManager::Impl::start(std::shared_ptr<ActiveRun> run) {
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
void RunManager::Impl::arm_timeout(ActiveRun& run) {
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
void RunManager::Impl::disarm_timeout(ActiveRun& run) {
  std::weak_ptr<int> alive = alive_;
  asio::post(io_, [this, alive, id = run.run_id] {
    if (!alive.lock()) return;
    std::lock_guard lock(mutex_);
    if (auto it = runs_.find(id); it != runs_.end()) it->second->timeout_timer.reset();
  });
}

void RunManager::Impl::reap(const std::string& run_id) {
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
void RunManager::hold_dumps() {
  impl_->hold_dumps();
}
std::size_t RunManager::busy_runs() const {
  return impl_->busy_runs();
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
