#include "operator_endpoint.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "agent_runs.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/sqlite/error.hpp"
#include "hmac.hpp"
#include "run_dispatcher.hpp"
#include "storage_maintenance.hpp"

namespace backupy::controlplane::detail {
namespace {

// The AgentGateway over the live sessions of ServerState.
class SessionGateway final : public AgentGateway {
 public:
  explicit SessionGateway(ServerState& state) : state_(state) {}

  bool online(std::string_view agent_id) const override {
    const std::shared_ptr<AgentSession> session = state_.live_session(agent_id);
    return session && session->registered();
  }

  std::optional<std::string> send(std::string_view agent_id, std::string_view kind,
                                  backup::v1::Envelope envelope) override {
    const std::shared_ptr<AgentSession> session = state_.live_session(agent_id);
    if (!session) return std::nullopt;
    return session->send_command(kind, std::move(envelope));
  }

  const AgentStatus* status(std::string_view agent_id) const override {
    return state_.agent_status.find(agent_id);
  }

  bool schedules_itself(std::string_view agent_id) const override {
    return state_.agent_cron(agent_id);
  }

 private:
  ServerState& state_;
};

}  // namespace

std::shared_ptr<AgentSession> ServerState::live_session(std::string_view agent_id) const {
  const auto it = sessions.find(agent_id);
  return it == sessions.end() ? nullptr : it->second.lock();
}

std::span<const std::uint8_t> ServerState::signing_key() const {
  if (!config->token_signing_key.empty()) return crypto::as_bytes(config->token_signing_key);
  return generated_signing_key;
}

std::vector<std::uint8_t> ServerState::object_url_key(const ServerConfig& config) const {
  if (config.storage && !config.storage->url_signing_key.empty()) {
    const auto bytes = crypto::as_bytes(config.storage->url_signing_key);
    return {bytes.begin(), bytes.end()};
  }
  // A separate key per purpose: a URL signature can never pass for a token's and vice versa.
  const Digest derived = hmac_sha256(signing_key(), std::string_view("backupy object URL key v1"));
  return {derived.begin(), derived.end()};
}

std::unique_ptr<ObjectStore> ServerState::object_store(const ServerConfig& config) const {
  if (!config.storage) return nullptr;
  std::vector<std::uint8_t> key = object_url_key(config);
  std::unique_ptr<ObjectStore> store = make_object_store(*config.storage, key, default_public_url);
  crypto::secure_wipe(key);
  return store;
}

ApiResponse serve_operator_request(ServerState& state, const ApiRequest& request) {
  // Hold the configuration for the whole request: a reload swaps state.config.
  const std::shared_ptr<const ServerConfig> config = state.config;
  SessionGateway gateway(state);
  const std::unique_ptr<ObjectStore> store = state.object_store(*config);
  ApiContext context{*config,     state.runs,     gateway,   state.signing_key(),
                     store.get(), core::now_ms(), state.log, state.reload};
  context.sweep_retention = [&state] { return sweep_retention(state, core::now_ms()); };
  context.self_updates = &state.self_updates;
  try {
    return handle_operator_request(request, context);
  } catch (const sqlite::Error& e) {
    // The run store put memory back as it was: the request changed nothing the catalog lacks.
    state.log.error("catalog_write_failed",
                    {{"event", "catalog_write_failed"},
                     {"what", "operator request"},
                     {"path", request.target.substr(0, request.target.find('?'))},
                     {"error", e.what()}});
    return {503, nlohmann::json({{"error", std::string("catalog unavailable: ") + e.what()}})
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
}

std::string scrape_metrics(ServerState& state) {
  CpMetrics::State now;
  now.agents_configured = state.registry.agents().size();
  for (const auto& [id, weak] : state.sessions) {
    const std::shared_ptr<AgentSession> session = weak.lock();
    if (session && session->registered()) ++now.agents_connected;
  }
  for (const RunStatus status : {RunStatus::queued, RunStatus::running}) {
    RunFilter filter;
    filter.status = status;
    filter.limit = std::numeric_limits<std::size_t>::max();
    now.runs_active += state.runs.list(filter).size();
  }
  return state.metrics.expose(now);
}

namespace {

// Calls fn(dispatcher) with a dispatcher over the current configuration and live sessions.
template <typename Fn>
void with_dispatcher(ServerState& state, Fn fn) {
  const std::shared_ptr<const ServerConfig> config = state.config;
  SessionGateway gateway(state);
  const std::unique_ptr<ObjectStore> store = state.object_store(*config);
  RunDispatcher dispatcher(*config, state.runs, gateway, store.get(), core::now_ms(), state.log);
  fn(dispatcher);
}

}  // namespace

void run_scheduled_job(ServerState& state, const std::string& job_id, std::chrono::sys_seconds at) {
  with_dispatcher(state, [&](RunDispatcher& dispatcher) {
    const RunRequestResult result = dispatcher.request_run(job_id, RunTrigger::scheduled, false);
    const auto* accepted = std::get_if<RunAccepted>(&result);
    if (accepted == nullptr) return;  // run_skipped was logged
    state.log.info(
        "run_scheduled",
        {{"event", "run_scheduled"},
         {"run_id", accepted->run->run_id},
         {"job_id", job_id},
         {"agent_id", accepted->run->agent_id},
         {"fire_time",
          core::iso8601_utc(static_cast<std::uint64_t>(at.time_since_epoch().count()) * 1000)},
         {"delivered", accepted->delivered}});
  });
}

bool send_run(ServerState& state, RunRecord& run, bool resend) {
  bool sent = false;
  with_dispatcher(state, [&](RunDispatcher& dispatcher) { sent = dispatcher.send(run, resend); });
  return sent;
}

void deliver_waiting_runs(ServerState& state, const std::string& agent_id) {
  with_dispatcher(state, [&](RunDispatcher& dispatcher) {
    if (const std::size_t sent = dispatcher.deliver_waiting(agent_id); sent > 0) {
      state.log.info("waiting_runs_delivered",
                     {{"event", "waiting_runs_delivered"}, {"agent_id", agent_id}, {"runs", sent}});
    }
  });
}

void expire_waiting_runs(ServerState& state) {
  with_dispatcher(state, [](RunDispatcher& dispatcher) { dispatcher.expire_waiting(); });
}

void note_upload_creds_request(ServerState& state, std::string_view agent_id,
                               const backup::v1::UploadCredsRequest& request) {
  try {
    on_upload_creds_request(state, std::string(agent_id), request);
  } catch (const sqlite::Error& e) {
    // Fail-stop like a run result: the agent replays the request to the restarted server.
    state.log.error("catalog_write_failed", {{"event", "catalog_write_failed"},
                                             {"what", "upload credentials request"},
                                             {"agent_id", agent_id},
                                             {"error", e.what()}});
    throw;
  }
}

void note_run_result(ServerState& state, std::string_view agent_id,
                     const backup::v1::Envelope& envelope) {
  const RunRecord* run = nullptr;
  try {
    prepare_agent_run_result(state, std::string(agent_id), envelope);
    run = apply_run_result(state.runs, state.log, agent_id, envelope);
  } catch (const sqlite::Error& e) {
    // Fail-stop: the result is not stored, and this process already counts its outbox entry
    // as delivered (DeliveryLedger). Stopping before the DeliveryAck makes the agent replay
    // it to the restarted server instead of losing it.
    state.log.error("catalog_write_failed", {{"event", "catalog_write_failed"},
                                             {"what", "run result"},
                                             {"agent_id", agent_id},
                                             {"error", e.what()}});
    throw;
  }
  if (run != nullptr && envelope.payload_case() == backup::v1::Envelope::kBackupCompleted) {
    verify_stored_object(state, *run);
  }
}

}  // namespace backupy::controlplane::detail
