#pragma once
// Agent log lines as LogEvents: every line at or above AdvancedSettings.log_level (default
// warn) is also sent to the control plane through the durable outbox, so an operator sees what
// the agent does without shelling into its container (docs/protocol.md, "Log events").
//
// - Redaction happened before: taps see records after the logger scrubbed sensitive field
//   names and every registered secret value (core/redactor.hpp).
// - Rate limit: a token bucket (rate_per_sec, burst). Lines over the limit are counted, and one
//   WARN LogEvent "N log lines were not sent (rate limit)" follows once tokens are back.
// - Offline: the outbox's log class is the bounded buffer (2,000 entries, oldest dropped first,
//   counted by Outbox::dropped_total); the forwarder itself holds nothing.
// - A line already reported upstream by its component (field reported_upstream=true, e.g. a
//   hook's LogEvent or a skipped fire) is not sent twice.
// - Lines logged while the forwarder itself reports (an outbox failure) are not forwarded (the
//   logger does not tap a tap's own lines), so a failing outbox cannot recurse.
// Threads: the tap runs on whichever thread logs, possibly inside a state-database transaction,
// so it only queues the event (bounded: kMaxQueued, oldest dropped and counted) and asks
// `post` to run a flush; the flush appends to the outbox. Appending from inside the tap would
// take the database lock while holding the logger's tap lock — the reverse of a worker that
// logs inside a transaction, i.e. a deadlock. The app posts the flush to the control thread.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "backupy/core/log.hpp"

namespace backupy::session {

struct LogForwarderOptions {
  double rate_per_sec = 20;
  double burst = 100;
  std::function<std::uint64_t()> now_ms;  // default: core::now_ms
  // Runs a flush later on another thread (the app: asio::post to the control thread). Default:
  // at once, on the logging thread (tests).
  std::function<void(std::function<void()>)> post;
};

// The level lines must reach to be forwarded: AdvancedSettings.log_level, or warn when the
// config leaves it empty (the control plane wants problems, not chatter, unless asked).
core::LogLevel forwarding_level(std::string_view configured);

class LogForwarder {
 public:
  using ReportFn = std::function<void(backup::v1::Envelope)>;
  LogForwarder(ReportFn report, LogForwarderOptions options = {});
  ~LogForwarder();  // removes the tap
  LogForwarder(const LogForwarder&) = delete;
  LogForwarder& operator=(const LogForwarder&) = delete;

  void set_level(core::LogLevel level);
  // Lines not sent because of the rate limit, since start.
  std::uint64_t rate_limited_total() const;
  // Events dropped because the queue to the outbox was full (the outbox was failing).
  std::uint64_t queue_dropped_total() const;

  static constexpr std::size_t kMaxQueued = 1000;

  // The tap (public for tests that feed records directly).
  void on_record(const core::LogRecord& record);

 private:
  bool take_token(std::uint64_t now);
  void enqueue(backup::v1::Envelope envelope);  // under mutex_
  void flush();

  ReportFn report_;
  LogForwarderOptions options_;
  int tap_id_ = -1;
  mutable std::mutex mutex_;
  core::LogLevel level_ = core::LogLevel::warn;
  double tokens_;
  std::uint64_t refilled_ms_ = 0;
  std::uint64_t limited_total_ = 0;
  std::uint64_t limited_unreported_ = 0;
  std::deque<backup::v1::Envelope> queue_;
  bool flush_posted_ = false;
  std::uint64_t queue_dropped_ = 0;
  // Handlers posted to another thread check this before touching *this.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace backupy::session
