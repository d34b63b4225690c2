#include "operator_endpoint.hpp"

#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"

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

ApiResponse serve_operator_request(ServerState& state, const ApiRequest& request) {
  // Hold the configuration for the whole request: a reload swaps state.config.
  const std::shared_ptr<const ServerConfig> config = state.config;
  SessionGateway gateway(state);
  ApiContext context{*config,        state.runs, gateway,     state.signing_key(),
                     core::now_ms(), state.log,  state.reload};
  return handle_operator_request(request, context);
}

void note_run_result(ServerState& state, std::string_view agent_id,
                     const backup::v1::Envelope& envelope) {
  apply_run_result(state.runs, state.log, agent_id, envelope);
}

}  // namespace backupy::controlplane::detail
