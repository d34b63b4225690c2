#include "backupy/core/log.hpp"

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "backupy/core/json_text.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"

namespace backupy::core {
namespace {

struct Sink {
  std::mutex mutex;  // the writer
  std::function<void(std::string_view)> writer;
  // Taps run outside the writer's lock (a tap may be slow: the LogEvent forwarder writes to
  // SQLite) under their own, which remove_log_tap() also takes, so a removed tap is never
  // running afterwards.
  std::mutex taps_mutex;
  std::map<int, LogTap> taps;
  int next_tap_id = 1;
};

// Set while this thread runs the taps: what a tap logs itself is written, but not tapped
// again (no recursion, no self-deadlock).
thread_local bool t_in_taps = false;

Sink& sink() {
  static Sink instance;
  return instance;
}

std::atomic<int> g_min_level{static_cast<int>(LogLevel::info)};

void write_stdout(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

std::string render_value(const LogValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return std::to_string(v);
        }
      },
      value.value);
}

void append_json_value(std::string& out, const LogValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else {
          out += std::to_string(v);
        }
      },
      value.value);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "trace") return LogLevel::trace;
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn" || text == "warning") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

void configure_logging(LogSinkOptions options) {
  std::lock_guard lock(sink().mutex);
  sink().writer = std::move(options.writer);
  g_min_level = static_cast<int>(options.min_level);
}

void set_log_level(LogLevel level) {
  g_min_level = static_cast<int>(level);
}
LogLevel log_level() {
  return static_cast<LogLevel>(g_min_level.load());
}

int add_log_tap(LogTap tap) {
  std::lock_guard lock(sink().taps_mutex);
  const int id = sink().next_tap_id++;
  sink().taps.emplace(id, std::move(tap));
  return id;
}

void remove_log_tap(int id) {
  std::lock_guard lock(sink().taps_mutex);
  sink().taps.erase(id);
}

void Logger::log(LogLevel level, std::string_view msg, std::span<const LogField> fields) const {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;

  LogRecord record{now_ms(), level, component_, redact(msg), {}};
  std::string line;
  line.reserve(128 + msg.size());
  line += "{\"ts\":";
  append_json_string(line, iso8601_utc(record.ts_ms));
  line += ",\"level\":";
  append_json_string(line, to_string(level));
  line += ",\"component\":";
  append_json_string(line, component_);
  line += ",\"msg\":";
  append_json_string(line, record.message);
  for (const LogField& field : fields) {
    line += ',';
    append_json_string(line, field.key);
    line += ':';
    if (is_sensitive_field_name(field.key)) {
      append_json_string(line, kRedacted);
      record.fields.emplace_back(field.key, kRedacted);
    } else {
      const LogValue scrubbed = std::holds_alternative<std::string>(field.value.value)
                                    ? LogValue(redact(std::get<std::string>(field.value.value)))
                                    : field.value;
      append_json_value(line, scrubbed);
      record.fields.emplace_back(field.key, render_value(scrubbed));
    }
  }
  line += "}\n";

  {
    std::lock_guard lock(sink().mutex);
    if (sink().writer) {
      sink().writer(line);
    } else {
      write_stdout(line);
    }
  }
  if (t_in_taps) return;
  struct InTaps {
    InTaps() { t_in_taps = true; }
    ~InTaps() { t_in_taps = false; }
  } in_taps;
  std::lock_guard lock(sink().taps_mutex);
  for (auto& [id, tap] : sink().taps) tap(record);
}

}  // namespace backupy::core
