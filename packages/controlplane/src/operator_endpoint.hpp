#pragma once
// Glue between the server's state and the operator API (private to the package; no Beast):
// listener.cpp hands it requests, agent_session.cpp hands it run results.
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "operator_api.hpp"
#include "server_state.hpp"

namespace backupy::controlplane::detail {

// Answers one operator API request against the live sessions and the current configuration.
ApiResponse serve_operator_request(ServerState& state, const ApiRequest& request);

// GET /metrics: every metric in the Prometheus text format, the state gauges computed now.
std::string scrape_metrics(ServerState& state);

// Updates the run a JobUpdate/BackupCompleted from agent_id refers to (run_update log line).
void note_run_result(ServerState& state, std::string_view agent_id,
                     const backup::v1::Envelope& envelope);

}  // namespace backupy::controlplane::detail
