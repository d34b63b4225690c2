// validate_snapshot: walks the config in order, checks ids across each kind,
// and hands every object to its rules (snapshot_validation_*.cpp).
#include "backupy/config/snapshot_validation.hpp"

#include <cstddef>

#include "snapshot_validation_report.hpp"
#include "snapshot_validation_rules.hpp"

namespace backupy::config {
namespace {

using detail::IdSet;
using detail::Report;

// Everything a message must never show. v1 servers put the plaintext password
// in password_secret_ref.
std::vector<std::string> collect_secrets(const backup::v1::AgentConfig& config) {
  std::vector<std::string> secrets;
  for (const backup::v1::Target& target : config.targets()) {
    secrets.push_back(target.connection().password_secret_ref());
  }
  return secrets;
}

// How problems name one object of a kind: by id, or by position when it has none.
struct Kind {
  std::string_view singular;  // "health check"
  std::string_view field;     // "health_checks"
};

// Checks one object's id against the others of its kind and returns its label.
// A repeated id is reported once, however often it repeats.
std::string check_id(const std::string& id, int index, const Kind& kind, IdSet& seen,
                     IdSet& reported, Report& report) {
  if (id.empty()) {
    std::string label = std::string(kind.field) + "[" + std::to_string(index) + "]";
    report.add(label + ": id is empty");
    return label;
  }
  if (!seen.insert(id).second && reported.insert(id).second) {
    report.add("duplicate " + std::string(kind.singular) + " id " + report.quote(id));
  }
  return std::string(kind.singular) + " " + report.quote(id);
}

}  // namespace

std::vector<std::string> validate_snapshot(const backup::v1::AgentConfig& config) {
  Report report(collect_secrets(config));

  IdSet target_ids;
  IdSet reported_targets;
  for (int i = 0; i < config.targets_size(); ++i) {
    const backup::v1::Target& target = config.targets(i);
    const std::string label =
        check_id(target.id(), i, {"target", "targets"}, target_ids, reported_targets, report);
    detail::check_target(target, label, report);
  }

  IdSet job_ids;
  IdSet reported_jobs;
  for (int i = 0; i < config.jobs_size(); ++i) {
    const backup::v1::BackupJobSpec& job = config.jobs(i);
    const std::string label =
        check_id(job.id(), i, {"job", "jobs"}, job_ids, reported_jobs, report);
    detail::check_job(job, label, target_ids, report);
  }

  IdSet check_ids;
  IdSet reported_checks;
  for (int i = 0; i < config.health_checks_size(); ++i) {
    const backup::v1::HealthCheckSpec& check = config.health_checks(i);
    const std::string label = check_id(check.id(), i, {"health check", "health_checks"}, check_ids,
                                       reported_checks, report);
    detail::check_health_check(check, label, report);
  }

  detail::check_maintenance(config.maintenance(), report);
  detail::check_advanced(config.advanced(), report);
  detail::check_key_wrapping(config, report);
  return std::move(report).finish();
}

std::string summarize_problems(const std::vector<std::string>& problems) {
  constexpr std::size_t kShown = 5;
  std::string line;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) {
    if (i > 0) line += "; ";
    line += problems[i];
  }
  if (problems.size() > kShown) {
    line += "; and " + std::to_string(problems.size() - kShown) + " more";
  }
  return line;
}

}  // namespace backupy::config
