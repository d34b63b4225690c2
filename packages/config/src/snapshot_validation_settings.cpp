// Rules for the singleton sections: the maintenance window, advanced settings and the
// key-wrapping key.
#include "backupy/core/log.hpp"
#include "snapshot_validation_formats.hpp"
#include "snapshot_validation_rules.hpp"

namespace backupy::config::detail {
namespace {

constexpr std::uint32_t kMaxParallelJobs = 64;
constexpr std::uint32_t kMaxJitterSec = 86400;  // a day: beyond, fires drift past the next one
constexpr std::size_t kX25519KeyBytes = 32;

}  // namespace

void check_maintenance(const backup::v1::MaintenanceWindow& window, Report& report) {
  const std::string prefix = "maintenance window: ";
  const std::string& start = window.start_utc();
  const std::string& end = window.end_utc();
  if (start.empty() && end.empty()) return;  // no window

  const bool start_ok = is_hh_mm(start);
  const bool end_ok = is_hh_mm(end);
  if (start.empty()) {
    report.add(prefix + "start_utc is empty but end_utc is set");
  } else if (!start_ok) {
    report.add(prefix + "start_utc " + report.quote(start) + " is not HH:MM");
  }
  if (end.empty()) {
    report.add(prefix + "end_utc is empty but start_utc is set");
  } else if (!end_ok) {
    report.add(prefix + "end_utc " + report.quote(end) + " is not HH:MM");
  }
  // Equal ends could mean "never" or "all day"; refuse to guess.
  if (start_ok && end_ok && start == end) {
    report.add(prefix + "start_utc and end_utc are both " + report.quote(start) +
               "; an empty window is ambiguous");
  }
}

void check_advanced(const backup::v1::AdvancedSettings& advanced, Report& report) {
  const std::string prefix = "advanced settings: ";
  // Same vocabulary as BACKUPY_LOG_LEVEL; "" keeps the current level.
  if (!advanced.log_level().empty() && !core::parse_log_level(advanced.log_level())) {
    report.add(prefix + "log_level " + report.quote(advanced.log_level()) +
               " is not one of trace, debug, info, warn, warning, error");
  }
  // Zero means the agent's default.
  if (advanced.max_parallel_jobs() > kMaxParallelJobs) {
    report.add(prefix + "max_parallel_jobs " + std::to_string(advanced.max_parallel_jobs()) +
               " is above the limit of " + std::to_string(kMaxParallelJobs));
  }
  if (advanced.schedule_jitter_sec() > kMaxJitterSec) {
    report.add(prefix + "schedule_jitter_sec " + std::to_string(advanced.schedule_jitter_sec()) +
               " is above the limit of " + std::to_string(kMaxJitterSec));
  }
}

void check_key_wrapping(const backup::v1::AgentConfig& config, Report& report) {
  if (!config.has_key_wrapping()) return;  // v1 servers publish none
  const backup::v1::KeyWrappingKey& key = config.key_wrapping();
  const std::string prefix = "key_wrapping: ";
  if (key.key_id().empty()) report.add(prefix + "key_id is empty");
  if (key.x25519_public_key().size() != kX25519KeyBytes) {
    report.add(prefix + "x25519_public_key has " + std::to_string(key.x25519_public_key().size()) +
               " bytes; an X25519 public key has 32");
  }
}

}  // namespace backupy::config::detail
