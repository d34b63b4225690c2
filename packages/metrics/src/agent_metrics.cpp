#include "backupy/metrics/agent_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace backupy::metrics {
namespace {

constexpr std::string_view kPrefix = "backupy_agent_";

std::string name(std::string_view suffix) {
  return std::string(kPrefix) + std::string(suffix);
}

// Backups take seconds to hours.
const prometheus::Histogram::BucketBoundaries kDurationBuckets = {
    1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200};

// Blobs from kilobytes to terabytes: 1 KiB * 4^k.
prometheus::Histogram::BucketBoundaries size_buckets() {
  prometheus::Histogram::BucketBoundaries buckets;
  double bound = 1024;
  for (int k = 0; k < 16; ++k, bound *= 4) buckets.push_back(bound);
  return buckets;
}

// Advances a counter owned here to a total kept elsewhere (a counter never goes back; a
// total that shrank means its owner restarted counting, which cannot happen within one
// process).
void advance_to(prometheus::Counter& counter, std::uint64_t total) {
  const double value = static_cast<double>(total);
  if (value > counter.Value()) counter.Increment(value - counter.Value());
}

template <typename T>
prometheus::Family<T>& family(prometheus::Registry& registry, std::string_view suffix,
                              std::string_view help) {
  if constexpr (std::is_same_v<T, prometheus::Counter>) {
    return prometheus::BuildCounter().Name(name(suffix)).Help(std::string(help)).Register(registry);
  } else if constexpr (std::is_same_v<T, prometheus::Gauge>) {
    return prometheus::BuildGauge().Name(name(suffix)).Help(std::string(help)).Register(registry);
  } else {
    return prometheus::BuildHistogram()
        .Name(name(suffix))
        .Help(std::string(help))
        .Register(registry);
  }
}

}  // namespace

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::success: return "success";
    case RunStatus::failed: return "failed";
    case RunStatus::cancelled: return "cancelled";
  }
  return "failed";
}

struct AgentMetrics::Impl {
  prometheus::Registry registry;

  prometheus::Gauge& up =
      family<prometheus::Gauge>(registry, "up", "Always 1 while the agent process runs").Add({});
  prometheus::Family<prometheus::Gauge>& build_info = family<prometheus::Gauge>(
      registry, "build_info", "Always 1; the labels name the agent build");
  prometheus::Gauge& config_version =
      family<prometheus::Gauge>(registry, "config_version",
                                "Version of the config snapshot in force (0 = none yet)")
          .Add({});
  prometheus::Family<prometheus::Gauge>& connection_state = family<prometheus::Gauge>(
      registry, "connection_state",
      "State of the connection to the control plane: 1 for the current state, 0 for the others");
  prometheus::Counter& reconnects =
      family<prometheus::Counter>(registry, "reconnects_total",
                                  "Connection attempts to the control plane after the first")
          .Add({});
  prometheus::Family<prometheus::Counter>& runs = family<prometheus::Counter>(
      registry, "runs_total", "Backup runs that reached a terminal state, by job and status");
  prometheus::Family<prometheus::Histogram>& run_duration = family<prometheus::Histogram>(
      registry, "run_duration_seconds",
      "Duration of finished runs (the attempt that finished them), by job");
  prometheus::Family<prometheus::Histogram>& run_size = family<prometheus::Histogram>(
      registry, "run_size_bytes", "Stored (compressed, encrypted) size of successful runs, by job");
  prometheus::Family<prometheus::Gauge>& last_success =
      family<prometheus::Gauge>(registry, "last_success_timestamp_seconds",
                                "Unix time of the last successful backup, by job and target");
  prometheus::Family<prometheus::Gauge>& last_failure =
      family<prometheus::Gauge>(registry, "last_failure_timestamp_seconds",
                                "Unix time of the last failed backup, by job and target");
  prometheus::Counter& input_bytes =
      family<prometheus::Counter>(registry, "input_bytes_total",
                                  "Dump bytes read from databases by successful runs, before "
                                  "compression and encryption")
          .Add({});
  prometheus::Counter& stored_bytes =
      family<prometheus::Counter>(registry, "stored_bytes_total",
                                  "Blob bytes stored by successful runs (compressed, encrypted)")
          .Add({});
  prometheus::Gauge& queue_depth =
      family<prometheus::Gauge>(registry, "queue_depth",
                                "Runs in the disk-backed queue: waiting to dump or to upload")
          .Add({});
  prometheus::Gauge& outbox_depth =
      family<prometheus::Gauge>(registry, "outbox_depth",
                                "Results waiting in the durable outbox for the control plane")
          .Add({});
  prometheus::Gauge& spool_bytes =
      family<prometheus::Gauge>(registry, "spool_bytes",
                                "Bytes of finished backups in the spool waiting for upload")
          .Add({});
  prometheus::Counter& upload_retries =
      family<prometheus::Counter>(registry, "upload_retries_total",
                                  "Upload PUT attempts beyond the first of each upload")
          .Add({});
  prometheus::Family<prometheus::Gauge>& health_up = family<prometheus::Gauge>(
      registry, "health_check_up", "1 if the last run of the health check passed, else 0");
  prometheus::Family<prometheus::Gauge>& health_duration = family<prometheus::Gauge>(
      registry, "health_check_duration_seconds", "Duration of the last run of the health check");
  prometheus::Gauge& discovered =
      family<prometheus::Gauge>(registry, "discovered_containers",
                                "Database containers found by the last Docker discovery pass")
          .Add({});
  prometheus::Family<prometheus::Counter>& log_dropped = family<prometheus::Counter>(
      registry, "log_events_dropped_total",
      "Log lines not sent upstream as LogEvents, by reason (rate_limit, queue_full)");
  prometheus::Counter& log_rate_limited = log_dropped.Add({{"reason", "rate_limit"}});
  prometheus::Counter& log_queue_full = log_dropped.Add({{"reason", "queue_full"}});
  prometheus::Counter& outbox_dropped =
      family<prometheus::Counter>(registry, "outbox_dropped_total",
                                  "Outbox entries dropped by the bounds of their class while "
                                  "offline (progress updates and log events; never results)")
          .Add({});

  // Series per job and per check, for retain_*(): prometheus-cpp removes by pointer.
  struct JobSeries {
    std::set<prometheus::Counter*> runs;
    prometheus::Histogram* duration = nullptr;
    prometheus::Histogram* size = nullptr;
    std::set<prometheus::Gauge*> last_success;
    std::set<prometheus::Gauge*> last_failure;
  };
  struct CheckSeries {
    prometheus::Gauge* up = nullptr;
    prometheus::Gauge* duration = nullptr;
  };
  std::mutex mutex;
  std::map<std::string, JobSeries, std::less<>> jobs;
  std::map<std::string, CheckSeries, std::less<>> checks;

  void remove(JobSeries& series) {
    for (auto* counter : series.runs) runs.Remove(counter);
    if (series.duration) run_duration.Remove(series.duration);
    if (series.size) run_size.Remove(series.size);
    for (auto* gauge : series.last_success) last_success.Remove(gauge);
    for (auto* gauge : series.last_failure) last_failure.Remove(gauge);
  }
  void remove(CheckSeries& series) {
    if (series.up) health_up.Remove(series.up);
    if (series.duration) health_duration.Remove(series.duration);
  }

  // Drops the entries of `series` whose key is not in `keep`.
  template <typename Series>
  void retain(std::map<std::string, Series, std::less<>>& series,
              std::span<const std::string> keep) {
    const std::set<std::string_view> wanted(keep.begin(), keep.end());
    for (auto it = series.begin(); it != series.end();) {
      if (wanted.contains(it->first)) {
        ++it;
      } else {
        remove(it->second);
        it = series.erase(it);
      }
    }
  }
};

AgentMetrics::AgentMetrics(std::string_view version, std::string_view commit)
    : impl_(std::make_unique<Impl>()) {
  impl_->up.Set(1);
  impl_->build_info.Add({{"version", std::string(version)}, {"commit", std::string(commit)}})
      .Set(1);
  set_connection_state("disconnected");
}

AgentMetrics::~AgentMetrics() = default;

void AgentMetrics::set_config_version(std::uint64_t version) {
  impl_->config_version.Set(static_cast<double>(version));
}

void AgentMetrics::set_connection_state(std::string_view state) {
  if (std::ranges::find(kConnectionStates, state) == std::end(kConnectionStates)) return;
  for (std::string_view each : kConnectionStates) {
    impl_->connection_state.Add({{"state", std::string(each)}}).Set(each == state ? 1 : 0);
  }
}

void AgentMetrics::observe_reconnects(std::uint64_t total) {
  advance_to(impl_->reconnects, total);
}

void AgentMetrics::run_finished(const FinishedRun& run) {
  Impl& m = *impl_;
  const prometheus::Labels job{{"job_id", run.job_id}};
  const prometheus::Labels job_target{{"job_id", run.job_id}, {"target_id", run.target_id}};
  const double finished_at = static_cast<double>(run.finished_at_ms) / 1000.0;

  std::lock_guard lock(m.mutex);
  Impl::JobSeries& series = m.jobs[run.job_id];
  prometheus::Counter& counter =
      m.runs.Add({{"job_id", run.job_id}, {"status", std::string(to_string(run.status))}});
  counter.Increment();
  series.runs.insert(&counter);
  series.duration = &m.run_duration.Add(job, kDurationBuckets);
  series.duration->Observe(run.duration_seconds);
  if (run.status == RunStatus::success) {
    series.size = &m.run_size.Add(job, size_buckets());
    series.size->Observe(static_cast<double>(run.stored_bytes));
    m.input_bytes.Increment(static_cast<double>(run.input_bytes));
    m.stored_bytes.Increment(static_cast<double>(run.stored_bytes));
    prometheus::Gauge& gauge = m.last_success.Add(job_target);
    gauge.Set(finished_at);
    series.last_success.insert(&gauge);
  } else if (run.status == RunStatus::failed) {
    prometheus::Gauge& gauge = m.last_failure.Add(job_target);
    gauge.Set(finished_at);
    series.last_failure.insert(&gauge);
  }
}

void AgentMetrics::upload_retried(std::uint64_t retries) {
  if (retries > 0) impl_->upload_retries.Increment(static_cast<double>(retries));
}

void AgentMetrics::health_check_result(const std::string& check_id, bool up,
                                       double duration_seconds) {
  Impl& m = *impl_;
  const prometheus::Labels labels{{"check_id", check_id}};
  std::lock_guard lock(m.mutex);
  Impl::CheckSeries& series = m.checks[check_id];
  series.up = &m.health_up.Add(labels);
  series.up->Set(up ? 1 : 0);
  series.duration = &m.health_duration.Add(labels);
  series.duration->Set(duration_seconds);
}

void AgentMetrics::set_discovered_containers(std::uint64_t count) {
  impl_->discovered.Set(static_cast<double>(count));
}

void AgentMetrics::retain_jobs(std::span<const std::string> job_ids) {
  std::lock_guard lock(impl_->mutex);
  impl_->retain(impl_->jobs, job_ids);
}

void AgentMetrics::retain_checks(std::span<const std::string> check_ids) {
  std::lock_guard lock(impl_->mutex);
  impl_->retain(impl_->checks, check_ids);
}

std::string AgentMetrics::expose(const State& state) {
  Impl& m = *impl_;
  m.queue_depth.Set(static_cast<double>(state.queue_depth));
  m.outbox_depth.Set(static_cast<double>(state.outbox_depth));
  m.spool_bytes.Set(static_cast<double>(state.spool_bytes));
  advance_to(m.log_rate_limited, state.log_events_rate_limited);
  advance_to(m.log_queue_full, state.log_events_queue_dropped);
  advance_to(m.outbox_dropped, state.outbox_dropped);
  // Collect under the mutex: a concurrent retain_*() must not free a series mid-collect.
  std::lock_guard lock(m.mutex);
  return prometheus::TextSerializer().Serialize(m.registry.Collect());
}

}  // namespace backupy::metrics
