#include "cron_schedule.hpp"

#include <algorithm>
#include <variant>

namespace backupy::controlplane::detail {

std::optional<std::chrono::sys_seconds> CronSchedule::first_after(const Job& job, TimePoint now) {
  std::chrono::sys_seconds after = std::chrono::floor<std::chrono::seconds>(now);
  if (job.last_fired && *job.last_fired > after) after = *job.last_fired;  // the clock stepped back
  return job.expression.next_after(after);
}

void CronSchedule::rebuild(const ServerConfig& config, TimePoint now) {
  std::map<std::string, Job> jobs;
  for (const AgentEntry& agent : config.agents) {
    for (const backup::v1::BackupJobSpec& spec : agent.config.jobs()) {
      if (spec.cron().empty() || jobs.contains(spec.id())) continue;
      auto parsed = cron::CronExpression::parse(spec.cron());
      // Loading the configuration rejected invalid expressions already.
      auto* expression = std::get_if<cron::CronExpression>(&parsed);
      if (expression == nullptr) continue;
      Job job{std::move(*expression), std::nullopt, std::nullopt};
      if (const auto old = jobs_.find(spec.id()); old != jobs_.end()) {
        job.last_fired = old->second.last_fired;
        if (old->second.expression.text() == job.expression.text()) {
          job.next = old->second.next;
          jobs.emplace(spec.id(), std::move(job));
          continue;
        }
      }
      job.next = first_after(job, now);
      jobs.emplace(spec.id(), std::move(job));
    }
  }
  jobs_ = std::move(jobs);
}

std::optional<std::chrono::sys_seconds> CronSchedule::next_fire() const {
  std::optional<std::chrono::sys_seconds> earliest;
  for (const auto& [id, job] : jobs_) {
    if (job.next && (!earliest || *job.next < *earliest)) earliest = job.next;
  }
  return earliest;
}

std::optional<std::chrono::sys_seconds> CronSchedule::next_fire(const std::string& job_id) const {
  const auto it = jobs_.find(job_id);
  return it == jobs_.end() ? std::nullopt : it->second.next;
}

std::vector<CronSchedule::Fire> CronSchedule::take_due(TimePoint now) {
  std::vector<Fire> due;
  for (auto& [id, job] : jobs_) {
    if (!job.next || *job.next > now) continue;
    due.push_back({id, *job.next});
    job.last_fired = job.next;
    job.next = first_after(job, now);
  }
  std::sort(due.begin(), due.end(), [](const Fire& a, const Fire& b) {
    return a.at != b.at ? a.at < b.at : a.job_id < b.job_id;
  });
  return due;
}

}  // namespace backupy::controlplane::detail
