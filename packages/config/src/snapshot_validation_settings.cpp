// Rules for the singleton sections: the maintenance window and advanced settings.
#include "backupy/core/log.hpp"
#include "snapshot_validation_formats.hpp"
#include "snapshot_validation_rules.hpp"

namespace backupy::config::detail {
namespace {

constexpr std::uint32_t kMaxParallelJobs = 64;

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
}

}  // namespace backupy::config::detail
