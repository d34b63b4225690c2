#include "backupy/session/log_forwarder.hpp"

#include <algorithm>
#include <string>

#include "backupy/core/time.hpp"

namespace backupy::session {
namespace {

// Set while this thread flushes: what the outbox logs about a failing append is not queued
// again (no feedback loop).
thread_local bool t_flushing = false;

backup::v1::LogLevel wire_level(core::LogLevel level) {
  switch (level) {
    case core::LogLevel::trace: return backup::v1::TRACE;
    case core::LogLevel::debug: return backup::v1::DEBUG;
    case core::LogLevel::info: return backup::v1::INFO;
    case core::LogLevel::warn: return backup::v1::WARN;
    case core::LogLevel::error: return backup::v1::ERROR;
  }
  return backup::v1::INFO;
}

}  // namespace

core::LogLevel forwarding_level(std::string_view configured) {
  return core::parse_log_level(configured).value_or(core::LogLevel::warn);
}

LogForwarder::LogForwarder(ReportFn report, LogForwarderOptions options)
    : report_(std::move(report)), options_(std::move(options)), tokens_(options_.burst) {
  if (!options_.now_ms) options_.now_ms = [] { return core::now_ms(); };
  if (!options_.post) options_.post = [](std::function<void()> fn) { fn(); };
  refilled_ms_ = options_.now_ms();
  tap_id_ = core::add_log_tap([this](const core::LogRecord& record) { on_record(record); });
}

LogForwarder::~LogForwarder() {
  core::remove_log_tap(tap_id_);
}

void LogForwarder::set_level(core::LogLevel level) {
  std::lock_guard lock(mutex_);
  level_ = level;
}

std::uint64_t LogForwarder::rate_limited_total() const {
  std::lock_guard lock(mutex_);
  return limited_total_;
}

std::uint64_t LogForwarder::queue_dropped_total() const {
  std::lock_guard lock(mutex_);
  return queue_dropped_;
}

bool LogForwarder::take_token(std::uint64_t now) {
  if (now > refilled_ms_) {
    tokens_ = std::min(options_.burst, tokens_ + static_cast<double>(now - refilled_ms_) *
                                                     options_.rate_per_sec / 1000.0);
    refilled_ms_ = now;
  }
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void LogForwarder::on_record(const core::LogRecord& record) {
  if (t_flushing) return;
  const auto reported = std::find_if(record.fields.begin(), record.fields.end(),
                                     [](const auto& f) { return f.first == "reported_upstream"; });
  if (reported != record.fields.end() && reported->second == "true") return;

  bool post_flush = false;
  {
    std::lock_guard lock(mutex_);
    if (record.level < level_) return;
    if (!take_token(options_.now_ms())) {
      ++limited_total_;
      ++limited_unreported_;
      return;
    }
    // The summary of what the limit held back goes out with the first line let through again.
    if (limited_unreported_ > 0 && take_token(options_.now_ms())) {
      backup::v1::Envelope note;
      auto* dropped = note.mutable_log_event();
      dropped->set_ts_ms(record.ts_ms);
      dropped->set_level(backup::v1::WARN);
      dropped->set_message(std::to_string(std::exchange(limited_unreported_, 0)) +
                           " log lines were not sent (rate limit)");
      (*dropped->mutable_fields())["component"] = "log_forwarder";
      enqueue(std::move(note));
    }
    backup::v1::Envelope envelope;
    auto* event = envelope.mutable_log_event();
    event->set_ts_ms(record.ts_ms);
    event->set_level(wire_level(record.level));
    event->set_message(record.message);
    auto& fields = *event->mutable_fields();
    fields["component"] = record.component;
    for (const auto& [key, value] : record.fields) {
      if (key == "job_id") {
        event->set_job_id(value);
      } else {
        fields[key] = value;
      }
    }
    enqueue(std::move(envelope));
    post_flush = !std::exchange(flush_posted_, true);
  }
  if (post_flush) {
    options_.post([this, alive = std::weak_ptr<int>(alive_)] {
      if (alive.lock()) flush();
    });
  }
}

void LogForwarder::enqueue(backup::v1::Envelope envelope) {
  if (queue_.size() >= kMaxQueued) {
    queue_.pop_front();
    ++queue_dropped_;
  }
  queue_.push_back(std::move(envelope));
}

void LogForwarder::flush() {
  std::deque<backup::v1::Envelope> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
    flush_posted_ = false;
  }
  t_flushing = true;
  for (auto& envelope : batch) {
    try {
      report_(std::move(envelope));
    } catch (...) {
      // The outbox logged its own failure; a log line is never worth failing anything for.
    }
  }
  t_flushing = false;
}

}  // namespace backupy::session
