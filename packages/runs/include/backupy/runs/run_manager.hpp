#pragma once
// Backup runs: admitted from RunBackup, owned by the process (never by a
// connection), journalled on disk, executed on worker threads, reported
// through the durable outbox (docs/architecture.md, "Runs").
//
// Threads:
//  - run_backup(), cancel_job(), recover() and the timeout timers run on the
//    control thread (the io_context given to the constructor).
//  - Each admitted run gets its own worker thread: dumps and uploads block.
//    A run waits for a dump slot (QUEUED; AdvancedSettings.max_parallel_jobs,
//    default 1), dumps into the spool (RUNNING), gives the slot back, waits for
//    an upload slot (SPOOLED), uploads (UPLOADING), and finishes.
//  - Workers hand results over through `report` (thread-safe, durable) and
//    hand their own clean-up to the control thread with asio::post.
//
// Exactly once: a terminal state and its report (JobUpdate, BackupCompleted)
// are committed in one state-database transaction, so a crash can neither
// lose a result nor report one twice.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/compress/codec.hpp"
#include "backupy/drivers/registry.hpp"
#include "backupy/scheduling/agent_schedule.hpp"
#include "backupy/state/run_journal.hpp"
#include "backupy/state/state_db.hpp"
#include "backupy/upload/put_file.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::runs {

struct RunManagerOptions {
  std::filesystem::path spool_dir;  // finished blobs waiting for upload (0700)
  std::filesystem::path work_dir;   // drivers' private scratch space (0700), wiped at start-up
  // BACKUPY_DOCKER_SOCKET: the Docker Engine API DOCKER_EXEC targets are dumped through.
  std::filesystem::path docker_socket = "/var/run/docker.sock";
  bool hooks_enabled = false;  // BACKUPY_HOOKS=enabled
  std::chrono::seconds hook_timeout{300};
  std::uint64_t spool_max_bytes = 0;  // 0 = only the disk limits the spool
  compress::CompressOptions zstd{.level = 3, .workers = 2};
  upload::UploadPolicy upload;
  unsigned max_parallel_uploads = 1;
  // JobUpdates while a step progresses: at most one per interval.
  std::chrono::milliseconds progress_interval{1000};
};

using ConfigSource = std::function<std::shared_ptr<const backup::v1::AgentConfig>()>;
// Appends one result to the durable outbox (session::ResultReporter::report).
using ReportFn = std::function<void(backup::v1::Envelope)>;

class RunManager {
 public:
  RunManager(boost::asio::io_context& io, RunManagerOptions options, state::StateDb& db,
             state::RunJournal& journal, const drivers::DriverRegistry& drivers,
             ConfigSource config, ReportFn report);
  ~RunManager();  // shutdown()
  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  // Start-up, before any command: runs left QUEUED/RUNNING by a crash are
  // FAILED; SPOOLED/UPLOADING runs resume their upload if their credentials
  // are still valid, else FAILED; spool files no run owns and the work dir
  // are removed.
  void recover();

  // A RunBackup from the control plane. A new run_id is admitted (QUEUED) or
  // refused (FAILED with the reason); a known run_id never starts a second
  // run (its upload credentials are refreshed if it has not finished).
  backup::v1::Ack run_backup(const backup::v1::RunBackup& command);
  // Cancels every queued or active run of the job.
  backup::v1::Ack cancel_job(const std::string& job_id);

  // agent_cron.v1 (docs/architecture.md, "Agent-side scheduling"). A fire of the agent's own
  // schedule: skipped (reported as a WARN LogEvent) while the job has an unfinished run;
  // otherwise a new agent-made run is journalled QUEUED (held to the end of the maintenance
  // window if it falls due inside it), its DEK is made and wrapped to
  // AgentConfig.key_wrapping, and an UploadCredsRequest goes to the outbox ahead of its first
  // JobUpdate. The dump never waits for the control plane; only the upload needs credentials.
  void schedule_run(const scheduling::Fire& fire);
  // The session came online with agent_cron.v1: every agent-made run that waits for upload
  // credentials asks again (the answer is a RunBackup for its run_id).
  void request_missing_credentials();
  // Runs in the disk-backed queue: waiting for a dump slot, the maintenance window or a
  // retry, or spooled and waiting for their upload (AgentMetrics.queue_depth).
  std::size_t queue_depth() const;

  // The config changed (max_parallel_jobs may have grown): wakes queued runs.
  void config_changed();

  // Job ids of runs not finished yet (heartbeats, status).
  std::vector<std::string> active_job_ids() const;
  std::size_t active_runs() const;

  // Stops every run: dumps end as FAILED ("agent shut down"), uploads return
  // to SPOOLED and resume at the next start. Joins the workers. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::runs
