#pragma once
// Structured logging: one JSON object per line on stdout.
//
// Every line carries ts, level, component and msg plus typed fields. Secrets
// never reach the sink: values of sensitive field names are replaced, and every
// registered secret value (agent key, passwords, DEKs) is scrubbed from the
// finished line, whatever field or message it hid in (see redactor.hpp).
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace backupy::core {

enum class LogLevel { trace = 0, debug = 1, info = 2, warn = 3, error = 4 };

std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view to_string(LogLevel level);

// A field value; constructible from the usual scalar types without surprises
// (a string literal stays a string, never becomes a bool).
struct LogValue {
  LogValue(const char* text) : value(std::string(text)) {}
  LogValue(std::string_view text) : value(std::string(text)) {}
  LogValue(const std::string& text) : value(text) {}
  LogValue(bool flag) : value(flag) {}
  LogValue(double number) : value(number) {}
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) LogValue(T number) {
    if constexpr (std::is_signed_v<T>) {
      value = static_cast<std::int64_t>(number);
    } else {
      value = static_cast<std::uint64_t>(number);
    }
  }
  std::variant<std::string, std::int64_t, std::uint64_t, double, bool> value;
};

struct LogField {
  std::string_view key;
  LogValue value;
};
using LogFields = std::initializer_list<LogField>;

// What the sink hands to taps (e.g. the LogEvent forwarder): already redacted.
struct LogRecord {
  std::uint64_t ts_ms;
  LogLevel level;
  std::string component;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;
};

// Process-wide sink configuration. Call from main() before threads start.
struct LogSinkOptions {
  LogLevel min_level = LogLevel::info;
  // Where lines go; defaults to stdout. Tests install their own writer.
  std::function<void(std::string_view line)> writer;
};
void configure_logging(LogSinkOptions options);
void set_log_level(LogLevel level);
LogLevel log_level();

// Observers of every emitted record (after redaction), called on the logging thread after the
// line was written. What a tap logs itself is written but not tapped again. Once
// remove_log_tap() returns, the tap is not running and will not run. Returns an id for removal.
using LogTap = std::function<void(const LogRecord&)>;
int add_log_tap(LogTap tap);
void remove_log_tap(int id);

// A cheap, copyable handle scoped to one component.
class Logger {
 public:
  explicit Logger(std::string component) : component_(std::move(component)) {}

  void trace(std::string_view msg, LogFields fields = {}) const {
    log(LogLevel::trace, msg, fields);
  }
  void debug(std::string_view msg, LogFields fields = {}) const {
    log(LogLevel::debug, msg, fields);
  }
  void info(std::string_view msg, LogFields fields = {}) const { log(LogLevel::info, msg, fields); }
  void warn(std::string_view msg, LogFields fields = {}) const { log(LogLevel::warn, msg, fields); }
  void error(std::string_view msg, LogFields fields = {}) const {
    log(LogLevel::error, msg, fields);
  }
  void log(LogLevel level, std::string_view msg, LogFields fields) const {
    log(level, msg, std::span<const LogField>(fields.begin(), fields.size()));
  }
  // For fields assembled at run time (fields every event of a caller shares, then its own).
  // Keys are views: they must outlive the call (literals do); values own their text.
  void log(LogLevel level, std::string_view msg, std::span<const LogField> fields) const;

  const std::string& component() const { return component_; }

 private:
  std::string component_;
};

}  // namespace backupy::core
