#pragma once
// One run in memory while its worker thread exists. The journal row is the
// durable truth; this holds what only a live run has: its stop source, the
// latest upload credentials, its timer and its thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/state/run_journal.hpp"
#include "slot_gate.hpp"

namespace backupy::runs::detail {

enum class StopReason { none, cancelled, timed_out, shutdown };

// Agent-made runs ask for fresh credentials when theirs expire this soon.
inline constexpr std::uint64_t kCredsMarginMs = 60'000;

// Whether an agent-made run can upload with creds now, or must ask for new ones first.
inline bool creds_usable(const state::UploadCreds& creds, std::uint64_t now) {
  if (creds.presigned_put_url.empty()) return false;
  return creds.expires_at_ms == 0 || creds.expires_at_ms >= now + kCredsMarginMs;
}

struct ActiveRun {
  std::string run_id;
  std::string job_id;
  backup::v1::BackupJobSpec job;  // as admitted (recovered runs: the current config's, if any)
  backup::v1::Target target;
  bool encryption_enabled = true;
  // The raw 32-byte key: RunBackup.encrypted_dek (v1), or the agent-made DEK.
  std::vector<std::uint8_t> dek;
  bool resume_upload = false;  // spooled: straight to the upload (restart, parked run)
  state::SpoolResult spool;    // for resumed runs: what the journal recorded
  state::RunOrigin origin = state::RunOrigin::server;
  bool scheduled = false;  // held by the maintenance window (not a manual run)
  // Worker thread only (set before it starts): the retry state of the journal row.
  std::uint32_t attempt = 1;
  std::uint64_t not_before_ms = 0;
  // A place in the dump-slot line, taken on the control thread when the run is
  // ready at once, so runs queued together get slots in the order they came.
  std::optional<SlotGate::Ticket> dump_ticket;
  // Set by the worker of an agent-made run that parked (spooled, waiting for
  // credentials) just before it ends: the reaper checks the journal once more.
  std::atomic<bool> parked{false};

  // First reason wins: a timeout after a cancel stays a cancel.
  void request_stop(StopReason reason) {
    StopReason expected = StopReason::none;
    stop_reason_.compare_exchange_strong(expected, reason);
    stop_.request_stop();
  }
  StopReason stop_reason() const { return stop_reason_.load(); }
  std::stop_token stop_token() const { return stop_.get_token(); }

  // Credentials: replaced by a repeated RunBackup while the run lives.
  void set_creds(state::UploadCreds creds) {
    std::lock_guard lock(creds_mutex_);
    creds_ = std::move(creds);
    ++creds_generation_;
  }
  state::UploadCreds creds(std::uint64_t* generation = nullptr) const {
    std::lock_guard lock(creds_mutex_);
    if (generation != nullptr) *generation = creds_generation_;
    return creds_;
  }

  // Set by the worker once the terminal state is committed: cancels after that
  // have nothing to stop.
  std::atomic<bool> finished{false};
  std::jthread thread;                  // joined by the manager (control thread)
  std::shared_ptr<void> timeout_timer;  // control thread only (an asio steady_timer)

 private:
  std::stop_source stop_;
  std::atomic<StopReason> stop_reason_{StopReason::none};
  mutable std::mutex creds_mutex_;
  state::UploadCreds creds_;
  std::uint64_t creds_generation_ = 0;
};

}  // namespace backupy::runs::detail
