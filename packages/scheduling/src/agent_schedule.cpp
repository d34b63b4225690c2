#include "backupy/scheduling/agent_schedule.hpp"

#include <algorithm>
#include <utility>
#include <variant>

#include "backupy/scheduling/catch_up.hpp"
#include "backupy/scheduling/jitter.hpp"
#include "latest_instant.hpp"

namespace backupy::scheduling {
namespace {

using std::chrono::sys_seconds;
using TimePoint = std::chrono::system_clock::time_point;

// Instants at or before the horizon are due at now (I + jitter <= now); later ones are not.
// Exact for whole-second instants: I <= floor(now - jitter) iff I <= now - jitter.
sys_seconds horizon(TimePoint now, std::chrono::milliseconds jitter) {
  return std::chrono::floor<std::chrono::seconds>(now - jitter);
}

void sort_fires(std::vector<Fire>& fires) {
  std::sort(fires.begin(), fires.end(), [](const Fire& a, const Fire& b) {
    return a.scheduled_for != b.scheduled_for ? a.scheduled_for < b.scheduled_for
                                              : a.job_id < b.job_id;
  });
}

}  // namespace

AgentSchedule::AgentSchedule(std::string agent_identity, ScheduleMemory memory)
    : agent_identity_(std::move(agent_identity)), memory_(std::move(memory)) {}

void AgentSchedule::set_config(const backup::v1::AgentConfig& config, TimePoint now) {
  const std::chrono::seconds window{config.advanced().schedule_jitter_sec()};
  std::map<std::string, Job> jobs;
  for (const backup::v1::BackupJobSpec& spec : config.jobs()) {
    if (spec.cron().empty() || jobs.contains(spec.id())) continue;
    auto parsed = cron::CronExpression::parse(spec.cron());
    auto* expression = std::get_if<cron::CronExpression>(&parsed);
    if (expression == nullptr) continue;  // config validation reported it already
    const std::chrono::milliseconds jitter = jitter_offset(agent_identity_, spec.id(), window);

    const auto old = jobs_.find(spec.id());
    if (old != jobs_.end() && old->second.cron.text() == expression->text() &&
        old->second.jitter == jitter) {
      jobs.emplace(spec.id(), std::move(old->second));  // keeps its pending instant
      continue;
    }
    sys_seconds after = horizon(now, jitter);
    // A changed job: what was due under its old jitter stays due (not lost to a reload).
    if (old != jobs_.end()) after = std::min(after, horizon(now, old->second.jitter));
    if (started_) {
      if (const auto last = memory_.last_fire(spec.id())) {
        after = std::max(after, *last);  // never an instant twice
      } else if (old == jobs_.end()) {
        memory_.set_last_fire(spec.id(), after);  // a new job: remembered from now on
      }
    }
    Job job{std::move(*expression), jitter, after, std::nullopt};
    job.next_instant = job.cron.next_after(after);
    jobs.emplace(spec.id(), std::move(job));
  }
  jobs_ = std::move(jobs);
}

std::vector<Fire> AgentSchedule::begin(TimePoint now, bool catch_up) {
  started_ = true;
  std::vector<Fire> fires;
  for (auto& [id, job] : jobs_) {
    const sys_seconds now_for_job = horizon(now, job.jitter);
    const std::optional<sys_seconds> last = memory_.last_fire(id);
    job.after = now_for_job;
    if (last && *last >= now_for_job) {
      job.after = *last;  // the clock went back since: wait until it passes the last fire
    } else if (last && catch_up) {
      if (const auto missed = missed_fire(job.cron, *last, now_for_job)) {
        fires.push_back({id, *missed, true});
        memory_.set_last_fire(id, *missed);
      }
    } else {
      // Never seen (remembered from now), or resuming: what passed meanwhile was not ours.
      memory_.set_last_fire(id, now_for_job);
    }
    job.next_instant = job.cron.next_after(job.after);
  }
  sort_fires(fires);
  return fires;
}

std::vector<Fire> AgentSchedule::start(TimePoint now) {
  return begin(now, true);
}

void AgentSchedule::resume(TimePoint now) {
  begin(now, false);
}

std::vector<Fire> AgentSchedule::due(TimePoint now) {
  std::vector<Fire> fires;
  if (!started_) return fires;
  for (auto& [id, job] : jobs_) {
    if (!job.next_instant || *job.next_instant + job.jitter > now) continue;
    const sys_seconds now_for_job = horizon(now, job.jitter);
    // Everything in (after, now_for_job] is due: a stall or a clock jump forwards coalesces
    // it into one fire of the latest instant. next_instant <= now_for_job, so there is one.
    const sys_seconds instant =
        detail::latest_instant(job.cron, job.after, now_for_job).value_or(*job.next_instant);
    job.after = now_for_job;
    job.next_instant = job.cron.next_after(now_for_job);
    fires.push_back({id, instant, false});
    memory_.set_last_fire(id, instant);
  }
  sort_fires(fires);
  return fires;
}

std::optional<TimePoint> AgentSchedule::next_wake() const {
  std::optional<TimePoint> earliest;
  for (const auto& [id, job] : jobs_) {
    if (!job.next_instant) continue;
    const TimePoint at = *job.next_instant + job.jitter;
    if (!earliest || at < *earliest) earliest = at;
  }
  return earliest;
}

}  // namespace backupy::scheduling
