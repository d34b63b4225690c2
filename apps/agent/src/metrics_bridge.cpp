#include "metrics_bridge.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"

namespace backupy::agent {
namespace {

const core::Logger kLog("metrics");

metrics::RunStatus run_status(backup::v1::JobStatus status) {
  switch (status) {
    case backup::v1::SUCCESS: return metrics::RunStatus::success;
    case backup::v1::CANCELLED: return metrics::RunStatus::cancelled;
    default: return metrics::RunStatus::failed;
  }
}

template <typename F>
std::uint64_t or_zero(F&& read) {
  try {
    return static_cast<std::uint64_t>(read());
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

metrics::FinishedRun finished_run(const runs::RunEnded& run) {
  return {.job_id = run.job_id,
          .target_id = run.target_id,
          .status = run_status(run.status),
          .duration_seconds = static_cast<double>(run.duration_ms) / 1000.0,
          .input_bytes = run.raw_bytes,
          .stored_bytes = run.stored_bytes,
          .finished_at_ms = run.finished_ms};
}

void record_health_check(metrics::AgentMetrics& metrics, const backup::v1::HealthCheckResult& r) {
  metrics.health_check_result(r.check_id(), r.ok(), static_cast<double>(r.latency_ms()) / 1000.0);
}

void record_config(metrics::AgentMetrics& metrics, const backup::v1::AgentConfig& config,
                   std::uint64_t version) {
  metrics.set_config_version(version);
  std::vector<std::string> jobs;
  for (const auto& job : config.jobs()) jobs.push_back(job.id());
  metrics.retain_jobs(jobs);
  std::vector<std::string> checks;
  for (const auto& check : config.health_checks()) checks.push_back(check.id());
  metrics.retain_checks(checks);
}

void record_session(metrics::AgentMetrics& metrics, const session::SessionStatus& status) {
  metrics.set_connection_state(session::to_string(status.state));
  metrics.observe_reconnects(status.reconnects);
}

metrics::AgentMetrics::State scrape_state(const runs::RunManager& runs, state::Outbox& outbox,
                                          const session::LogForwarder& log_forwarder) {
  return {.queue_depth = or_zero([&] { return runs.queue_depth(); }),
          .outbox_depth = or_zero([&] { return outbox.depth(); }),
          .spool_bytes = or_zero([&] { return runs.spool_bytes(); }),
          .log_events_rate_limited = log_forwarder.rate_limited_total(),
          .log_events_queue_dropped = log_forwarder.queue_dropped_total(),
          .outbox_dropped = outbox.dropped_total()};
}

std::string healthz_json(const session::SessionStatus& status, std::uint64_t config_version) {
  return nlohmann::json{{"status", "ok"},
                        {"connection", session::to_string(status.state)},
                        {"config_version", config_version}}
      .dump();
}

std::unique_ptr<metrics::MetricsEndpoint> start_metrics_endpoint(
    boost::asio::io_context& io, std::string_view listen_address,
    metrics::EndpointHandlers handlers) {
  if (listen_address.empty()) {
    kLog.info("metrics endpoint disabled (BACKUPY_METRICS_LISTEN_ADDR is empty)");
    return nullptr;
  }
  try {
    auto endpoint =
        std::make_unique<metrics::MetricsEndpoint>(io, listen_address, std::move(handlers));
    kLog.info("serving /metrics and /healthz",
              {{"listen_addr", std::string(listen_address)}, {"port", endpoint->port()}});
    return endpoint;
  } catch (const std::exception& e) {
    kLog.error("metrics endpoint not started; the agent runs on without it",
               {{"error", core::redact(e.what())}});
    return nullptr;
  }
}

}  // namespace backupy::agent
