// Rules for BackupJobSpec: the target exists, the schedule parses, and the
// numbers stay within limits that keep a bad config from stalling the agent.
#include <algorithm>
#include <array>
#include <variant>

#include "backupy/cron/cron.hpp"
#include "snapshot_validation_rules.hpp"

namespace backupy::config::detail {
namespace {

constexpr std::uint32_t kMaxAttempts = 100;
constexpr std::uint32_t kMaxBackoffSeconds = 86400;      // one day
constexpr std::uint32_t kMaxTimeoutSeconds = 7 * 86400;  // one week
constexpr std::size_t kMaxHookBytes = 4095;

// "" is the v1 default and means zstd.
constexpr std::array<std::string_view, 4> kCompressions = {"", "zstd", "gzip", "none"};

bool is_blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

void check_hooks(const google::protobuf::RepeatedPtrField<std::string>& hooks,
                 std::string_view field, const std::string& prefix, Report& report) {
  // Hook commands are never echoed: they often carry credentials inline.
  for (int i = 0; i < hooks.size(); ++i) {
    const std::string name = prefix + std::string(field) + "[" + std::to_string(i) + "]";
    if (is_blank(hooks[i])) {
      report.add(name + " is empty");
    } else if (hooks[i].size() > kMaxHookBytes) {
      report.add(name + " is " + std::to_string(hooks[i].size()) + " bytes long; the limit is " +
                 std::to_string(kMaxHookBytes));
    }
  }
}

}  // namespace

void check_job(const backup::v1::BackupJobSpec& job, std::string_view label,
               const IdSet& target_ids, Report& report) {
  const std::string prefix = std::string(label) + ": ";

  if (job.target_id().empty()) {
    report.add(prefix + "target_id is empty");
  } else if (!target_ids.contains(job.target_id())) {
    report.add(prefix + "target_id " + report.quote(job.target_id()) + " does not exist");
  }

  // An empty cron means the server schedules this job itself (v1 behaviour).
  if (!job.cron().empty()) {
    auto parsed = cron::CronExpression::parse(job.cron());
    if (auto* error = std::get_if<std::string>(&parsed)) report.add(prefix + "cron: " + *error);
  }

  if (std::find(kCompressions.begin(), kCompressions.end(), job.compression()) ==
      kCompressions.end()) {
    report.add(prefix + "compression " + report.quote(job.compression()) +
               " is not one of zstd, gzip, none");
  }

  const backup::v1::RetryPolicy& retry = job.retry();
  if (retry.max_attempts() > kMaxAttempts) {
    report.add(prefix + "retry.max_attempts " + std::to_string(retry.max_attempts()) +
               " is above the limit of " + std::to_string(kMaxAttempts));
  }
  for (int i = 0; i < retry.backoff_seconds_size(); ++i) {
    if (retry.backoff_seconds(i) > kMaxBackoffSeconds) {
      report.add(prefix + "retry.backoff_seconds[" + std::to_string(i) + "] " +
                 std::to_string(retry.backoff_seconds(i)) + " is above the limit of " +
                 std::to_string(kMaxBackoffSeconds));
    }
  }

  if (job.timeout_sec() > kMaxTimeoutSeconds) {
    report.add(prefix + "timeout_sec " + std::to_string(job.timeout_sec()) +
               " is above the limit of " + std::to_string(kMaxTimeoutSeconds) + " (7 days)");
  }

  check_hooks(job.pre_hooks(), "pre_hooks", prefix, report);
  check_hooks(job.post_hooks(), "post_hooks", prefix, report);
}

}  // namespace backupy::config::detail
