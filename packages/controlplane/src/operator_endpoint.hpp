#pragma once
// Glue between the server's state and the operator API (private to the package; no Beast):
// listener.cpp hands it requests, agent_session.cpp hands it run results and registrations,
// cron_scheduler.cpp its fires and sweeps. Each builds a RunDispatcher over the live state.
#include <chrono>
#include <string>
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

// UploadCredsRequest from agent_id (agent_runs.hpp); a catalog failure is logged and rethrown.
void note_upload_creds_request(ServerState& state, std::string_view agent_id,
                               const backup::v1::UploadCredsRequest& request);

// The schedule fired job_id for the cron instant `at`: requests a scheduled run (run_scheduled,
// or run_skipped with the reason).
void run_scheduled_job(ServerState& state, const std::string& job_id, std::chrono::sys_seconds at);

// Sends RunBackup for run with fresh credentials (RunDispatcher::send); false if its agent is
// offline or storage is not configured.
bool send_run(ServerState& state, RunRecord& run, bool resend);

// agent_id's session just registered: sends the runs that waited for it, oldest first.
void deliver_waiting_runs(ServerState& state, const std::string& agent_id);

// Fails runs that waited longer than scheduling.waiting_run_ttl_sec for their agent.
void expire_waiting_runs(ServerState& state);

}  // namespace backupy::controlplane::detail
