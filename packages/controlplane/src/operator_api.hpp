#pragma once
// The operator API (private to the package): routing, authentication and the run handlers,
// as plain functions of a request, so that they are testable without sockets. listener.cpp
// feeds it requests from the TLS listener; agent_session.cpp feeds it the agents' results.
//
//   POST /v1/jobs/{job_id}/run               202 {run_id, agent_id, job_id, s3_key, status,
//                                            trigger, delivered} (body optional:
//                                            {"allow_concurrent": true}); delivered false = the
//                                            agent is offline and the run waits for it; 409
//                                            {error, active_run_id} if the job has an unfinished
//                                            run, 409 when the agent's waiting runs are at the
//                                            bound (run_dispatcher.hpp)
//   POST /v1/jobs/{job_id}/cancel            202 {job_id, agent_id}; 409 if the agent is offline
//   GET  /v1/runs/{run_id}                   200 {run_id, job_id, agent_id, status, trigger,
//                                            delivered, ...}
//   POST /v1/runs/{run_id}/resend            202 {run_id, ...} like run; 409 if offline
//   POST /v1/runs/{run_id}/decryption-token  200 {token}       (body optional: {"ttl_sec": N})
//   GET  /v1/runs/{run_id}/download-url      200 {url, expires_at_ms}
//   GET  /v1/agents                          200 {agents: [{agent_id, state, ...}]}
//   GET  /v1/runs?agent=&job=&status=&limit= 200 {runs: [...]} newest first (limit 50, <= 1000)
//   POST /v1/config/reload                   200 {reloaded: true, agents: N}; 400 {error} with
//                                            the file:line of an invalid configuration (the
//                                            old one stays); 500 if there is nothing to reload
//   POST /v1/retention/sweep                 202 {expired_runs: N}: the daily retention sweep,
//                                            now (deletions finish in the background)
//   POST /v1/agents/{agent_id}/self-update   202 {agent_id, correlation_id, target_version}:
//                                            SelfUpdate sent (body: self_update_body.hpp); 400
//                                            {error} on a bad body, 404 unknown agent, 409
//                                            offline
//   GET  /v1/agents/{agent_id}/self-update   200 {agent_id, requests: [...]} newest first, with
//                                            the agent's answers (self_update_requests.hpp)
//
// Every request needs "Authorization: Bearer <admin token>" (sha256 listed in admin.token_sha256)
// and is answered 401 {"error":"unauthorized"} otherwise, before any routing. Errors are JSON
// {"error": "..."}. Each request is logged as api_request {method, path, status, remote}: never
// the query, the token, a URL's signature or a key.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent_status.hpp"
#include "backup/v1/agent.pb.h"
#include "backupy/controlplane/server.hpp"
#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/log.hpp"
#include "object_store.hpp"
#include "run_store.hpp"
#include "self_update_requests.hpp"

namespace backupy::controlplane::detail {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received
  std::optional<std::string> authorization;
  std::optional<std::string> idempotency_key;
  std::string body;
  std::string remote;  // for the log
};

struct ApiResponse {
  unsigned status = 200;
  std::string body;  // JSON
};

// What the API needs from the live agent sessions.
class AgentGateway {
 public:
  virtual ~AgentGateway() = default;
  // True if the agent has a session that registered and is not closing.
  virtual bool online(std::string_view agent_id) const = 0;
  // Queues envelope on that session; returns its correlation id ("<kind>-..."), or nullopt if
  // the agent is not online.
  virtual std::optional<std::string> send(std::string_view agent_id, std::string_view kind,
                                          backup::v1::Envelope envelope) = 0;
  // What the agent reported since the process started (GET /v1/agents); nullptr if it never
  // registered.
  virtual const AgentStatus* status(std::string_view /*agent_id*/) const { return nullptr; }
  // True if the agent's latest Register negotiated agent_cron.v1: it runs its jobs' cron
  // itself, so the server's schedule must not (also while it is offline).
  virtual bool schedules_itself(std::string_view /*agent_id*/) const { return false; }
};

struct ApiContext {
  const ServerConfig& config;
  RunStore& runs;
  AgentGateway& agents;
  std::span<const std::uint8_t> signing_key;  // decryption tokens
  const ObjectStore* store = nullptr;         // nullptr: storage is not configured
  std::uint64_t now_ms = 0;
  const core::Logger& log;
  // POST /v1/config/reload: re-reads the YAML like SIGHUP; empty = answered 500.
  std::function<ReloadResult()> reload = {};
  // POST /v1/retention/sweep: starts a retention sweep now, returns how many runs expired;
  // empty = answered 500.
  std::function<std::size_t()> sweep_retention = {};
  // The self-update requests sent and their answers; nullptr = the self-update routes answer 500.
  SelfUpdateRequests* self_updates = nullptr;
};

// True for the paths the operator API owns: "/v1/..." except the agents' WebSocket endpoint.
bool is_operator_path(std::string_view path);

ApiResponse handle_operator_request(const ApiRequest& request, ApiContext& context);

// Applies a JobUpdate or BackupCompleted from agent_id to its run and logs run_update; other
// payloads, and results for unknown runs or already applied ones, are ignored (nullptr).
const RunRecord* apply_run_result(RunStore& runs, const core::Logger& log,
                                  std::string_view agent_id, const backup::v1::Envelope& envelope);

}  // namespace backupy::controlplane::detail
