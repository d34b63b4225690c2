#pragma once
// Backup runs: admitted from RunBackup, owned by the process (never by a
// connection), journalled on disk, executed on worker threads, reported
// through the durable outbox (docs/architecture.md, "Runs").
//
// Threads:
//  - run_backup(), cancel_job(), recover() and the timeout timers run on the
//    control thread (the io_context given to the constructor).
//  - Each admitted run gets its own worker thread: dumps and uploads block.
//    A run waits until it may start (a retry's backoff; for scheduled runs the
//    end of the maintenance window), then for a dump slot (QUEUED;
//    AdvancedSettings.max_parallel_jobs, default 1, granted first come first
//    served in the order runs became ready), dumps into the spool (RUNNING),
//    gives the slot back, waits for an upload slot (SPOOLED), uploads
//    (UPLOADING), and finishes.
//  - Workers hand results over through `report` (thread-safe, durable) and
//    hand their own clean-up to the control thread with asio::post.
//
// Policies (docs/architecture.md, "Runs"):
//  - Maintenance window (AgentConfig.maintenance): a scheduled run (agent fire,
//    or RunBackup with manual_trigger=false) about to start its dump inside the
//    window waits for its end, reported QUEUED "waiting for the maintenance
//    window (22:00-02:00 UTC) to end at <iso>". Manual runs are never held.
//  - Retries (BackupJobSpec.retry, scheduling::retry_delay): a failed attempt
//    (not a cancel, a timeout or a shutdown) is retried after its backoff,
//    reported QUEUED with attempt n+1, the failure as error_message and step
//    "retry <n+1> of <max> at <iso> after: <reason>". A dump or hook failure
//    starts over (spool removed); an upload failure retries only the upload.
//    Runs from the server retry only while their presigned URL is still valid
//    at the retry time. attempt and not_before survive restarts; a run left
//    RUNNING by a crash counts as a failed attempt. Every JobUpdate carries
//    its attempt.
//  - Waits (backoff, window) read RunManagerOptions::now_ms in short slices and
//    end at once on cancel or shutdown; config_changed() re-checks them.
//
// Exactly once: a terminal state and its report (JobUpdate, BackupCompleted)
// are committed in one state-database transaction, so a crash can neither
// lose a result nor report one twice.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/compress/codec.hpp"
#include "backupy/core/time.hpp"
#include "backupy/drivers/registry.hpp"
#include "backupy/scheduling/agent_schedule.hpp"
#include "backupy/state/run_journal.hpp"
#include "backupy/state/state_db.hpp"
#include "backupy/upload/put_file.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::runs {

// A run that reached a terminal state (for the agent's metrics).
struct RunEnded {
  std::string job_id;
  std::string target_id;
  backup::v1::JobStatus status = backup::v1::FAILED;  // SUCCESS, FAILED or CANCELLED
  std::uint64_t duration_ms = 0;   // from the start of its last attempt (or its creation)
  std::uint64_t raw_bytes = 0;     // dump bytes, when it got that far
  std::uint64_t stored_bytes = 0;  // blob bytes, when it got that far
  std::uint64_t finished_ms = 0;
};

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
  // The wall clock of every policy (admission, retries, backoff and window
  // waits, credential validity): tests inject their own.
  std::function<std::uint64_t()> now_ms = [] { return core::now_ms(); };
  // Wraps an agent-made run's DEK to the control plane's key-wrapping key
  // (crypto::wrap_dek); empty = crypto::wrap_dek. Tests inject a stand-in.
  using WrapDekFn = std::function<std::vector<std::uint8_t>(std::span<const std::uint8_t, 32> dek,
                                                            const backup::v1::KeyWrappingKey& key)>;
  WrapDekFn wrap_dek;
  // Observers (the agent's metrics); optional, must be quick and thread-safe: they are called
  // on worker threads and on the control thread.
  // Each terminal JobUpdate, as it is reported (refusals at admission and failures found at
  // start-up included, so the counts match what the control plane hears).
  std::function<void(const RunEnded&)> on_run_ended;
  // PUT attempts beyond the first within one upload.
  std::function<void(std::uint64_t retries)> on_upload_retries;
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

  // Start-up, before any command:
  //  - QUEUED runs start again (in the order they were queued, keeping their
  //    attempt and backoff); server runs only while their credentials are
  //    valid, else FAILED.
  //  - RUNNING runs (a crash during the dump) count as a failed attempt:
  //    retried if the policy allows, else FAILED.
  //  - SPOOLED/UPLOADING runs resume their upload if their credentials are
  //    valid; else server runs are FAILED and agent-made runs are parked
  //    (spooled, waiting for credentials: request_missing_credentials()).
  //  - Spool files no run owns and the work dir are removed.
  void recover();

  // A RunBackup from the control plane. A new run_id is admitted (QUEUED) or
  // refused (FAILED with the reason); a known run_id never starts a second
  // run (its upload credentials are refreshed if it has not finished, and a
  // parked agent-made run starts its upload).
  backup::v1::Ack run_backup(const backup::v1::RunBackup& command);
  // Cancels every queued, active or parked run of the job.
  backup::v1::Ack cancel_job(const std::string& job_id);

  // agent_cron.v1 (docs/architecture.md, "Agent-side scheduling"). A fire of the agent's own
  // schedule: skipped (reported as a WARN LogEvent) while the job has an unfinished run;
  // otherwise a new agent-made run is journalled QUEUED (held to the end of the maintenance
  // window if it falls due inside it), its DEK is made and wrapped to
  // AgentConfig.key_wrapping, and an UploadCredsRequest goes to the outbox ahead of its first
  // JobUpdate. The dump never waits for the control plane; only the upload needs credentials.
  // Run ids are "arun-<16 lowercase hex>". An encrypted job without a key-wrapping key in the
  // config FAILS at once (still announced by an UploadCredsRequest with no DEK). The raw DEK
  // is sealed in the journal until the run is spooled, then wiped; BackupCompleted carries the
  // wrapped DEK and dek_kms_id. Spooled without valid credentials (none, or expiring within
  // 60 s), the run parks: state spooled, no worker, JobUpdate RUNNING
  // "waiting_for_upload_credentials" and a fresh UploadCredsRequest; a RunBackup for its
  // run_id starts the upload.
  void schedule_run(const scheduling::Fire& fire);
  // The session came online with agent_cron.v1: every agent-made run that waits for upload
  // credentials asks again (the answer is a RunBackup for its run_id).
  void request_missing_credentials();
  // Runs in the disk-backed queue: waiting for a dump slot, the maintenance window or a
  // retry, or spooled and waiting for their upload (AgentMetrics.queue_depth).
  std::size_t queue_depth() const;
  // Bytes of the files in the spool directory (finished blobs waiting for upload, and the one
  // being written).
  std::uint64_t spool_bytes() const;

  // Before a switch of binaries (self-update): from now on no queued run starts its dump; such
  // runs stay queued in the journal and start in the next binary. busy_runs() counts the runs
  // that are dumping or uploading, which the switch waits for.
  void hold_dumps();
  std::size_t busy_runs() const;

  // The config changed (max_parallel_jobs may have grown): wakes queued runs.
  void config_changed();

  // Job ids of runs not finished yet (heartbeats, status).
  std::vector<std::string> active_job_ids() const;
  std::size_t active_runs() const;

  // Stops every run: dumps end as FAILED ("agent shut down"), runs still
  // QUEUED stay queued and uploads return to SPOOLED; both go on at the next
  // start. Joins the workers. Idempotent.
  void shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::runs
