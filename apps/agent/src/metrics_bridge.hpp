#pragma once
// The agent's side of packages/metrics: how the app's components feed AgentMetrics, what
// /healthz says, and starting the endpoint (docs/metrics.md). Kept out of run_command.cpp so
// the composition root stays a list of parts.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "backupy/metrics/agent_metrics.hpp"
#include "backupy/metrics/metrics_endpoint.hpp"
#include "backupy/runs/run_manager.hpp"
#include "backupy/session/log_forwarder.hpp"
#include "backupy/session/session_status.hpp"
#include "backupy/state/outbox.hpp"

namespace backup::v1 {
class AgentConfig;
class HealthCheckResult;
}  // namespace backup::v1

namespace backupy::agent {

metrics::FinishedRun finished_run(const runs::RunEnded& run);

void record_health_check(metrics::AgentMetrics& metrics, const backup::v1::HealthCheckResult& r);

// A new config snapshot: its version, and the series of jobs and checks it no longer has.
void record_config(metrics::AgentMetrics& metrics, const backup::v1::AgentConfig& config,
                   std::uint64_t version);

void record_session(metrics::AgentMetrics& metrics, const session::SessionStatus& status);

// The figures read at scrape time. A figure whose source fails (the state database) is 0
// for that scrape: the error is the source's to report, and the scrape stays useful.
metrics::AgentMetrics::State scrape_state(const runs::RunManager& runs, state::Outbox& outbox,
                                          const session::LogForwarder& log_forwarder);

// GET /healthz: the control loop answered, plus what an operator checks first.
std::string healthz_json(const session::SessionStatus& status, std::uint64_t config_version);

// The endpoint on listen_address, or nullptr when it is empty (disabled) or cannot be bound.
// A bind failure is logged as an error and the agent runs on without metrics: backups matter
// more than their observation, and the error line also reaches the control plane.
std::unique_ptr<metrics::MetricsEndpoint> start_metrics_endpoint(
    boost::asio::io_context& io, std::string_view listen_address,
    metrics::EndpointHandlers handlers);

}  // namespace backupy::agent
