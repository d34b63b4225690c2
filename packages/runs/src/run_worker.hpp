#pragma once
// The body of a run's worker thread: every blocking step of one run, in order.
//
//   wait for not_before (a retry's backoff) and, for scheduled runs, the end
//   of the maintenance window → wait for a dump slot (QUEUED) → RUNNING: pre
//   hooks, probe, dump through the pipeline into the spool (fsynced) →
//   SPOOLED (agent-made runs without valid credentials park here and the
//   worker ends) → wait for an upload slot → UPLOADING: PUT with retries →
//   COMPLETED | FAILED | CANCELLED → post hooks
//
// A failure is retried per the job's RetryPolicy (the dump from scratch, or
// the upload alone), else it ends the run with one precise reason; the stop
// token ends it as cancelled, timed out or (shutdown) interrupted.
#include <functional>
#include <stop_token>

#include "active_run.hpp"
#include "backupy/drivers/registry.hpp"
#include "backupy/runs/run_manager.hpp"
#include "backupy/state/run_journal.hpp"
#include "backupy/state/state_db.hpp"
#include "dump_hold.hpp"
#include "slot_gate.hpp"

namespace backupy::runs::detail {

// What every worker shares; owned by the manager, outlives the workers.
struct WorkerServices {
  const RunManagerOptions& options;
  state::StateDb& db;
  state::RunJournal& journal;
  const drivers::DriverRegistry& drivers;
  ReportFn report;
  SlotGate& dump_slots;
  SlotGate& upload_slots;
  DumpHold& dump_hold;       // closed before a switch of binaries
  std::stop_token shutdown;  // the manager is shutting down (post hooks stop too)
  std::function<std::uint64_t()> now_ms;
  ConfigSource config;  // the live config (maintenance window)
  // Blocks until now_ms() >= deadline_ms (true) or stop (false).
  std::function<bool(std::uint64_t deadline_ms, std::stop_token stop)> wait_until;
  // Called from the worker when the run enters RUNNING (arms the timeout).
  std::function<void(ActiveRun&)> on_started;
  // Called from the worker when a failed attempt waits for its retry: the
  // timeout covers each attempt, not the backoff in between.
  std::function<void(ActiveRun&)> on_retry_wait;
};

void run_worker(WorkerServices& services, ActiveRun& run);

}  // namespace backupy::runs::detail
