#include "agent_status.hpp"

namespace backupy::controlplane::detail {

void AgentStatusBoard::on_register(std::string_view agent_id, std::string_view session_id,
                                   const backup::v1::Register& reg,
                                   std::uint64_t config_version_sent, std::uint64_t now_ms) {
  auto [it, inserted] = agents_.try_emplace(std::string(agent_id));
  AgentStatus& status = it->second;
  // A new session starts from scratch: nothing of the previous one describes it.
  status = AgentStatus{};
  status.session_id = session_id;
  status.connected = true;
  status.connected_since_ms = now_ms;
  status.config_version_sent = config_version_sent;
  status.config_version_acked = reg.last_known_config_version();
  status.agent_version = reg.agent_version();
  status.hostname = reg.hostname();
}

void AgentStatusBoard::on_config_sent(std::string_view agent_id, std::string_view session_id,
                                      std::uint64_t version) {
  if (AgentStatus* status = current(agent_id, session_id)) status->config_version_sent = version;
}

void AgentStatusBoard::on_heartbeat(std::string_view agent_id, std::string_view session_id,
                                    const backup::v1::Heartbeat& heartbeat, std::uint64_t now_ms) {
  AgentStatus* status = current(agent_id, session_id);
  if (status == nullptr) return;
  status->last_heartbeat_ms = now_ms;
  status->config_version_acked = heartbeat.config_version();
  status->metrics = heartbeat.metrics();
}

void AgentStatusBoard::on_disconnect(std::string_view agent_id, std::string_view session_id,
                                     std::uint64_t now_ms) {
  AgentStatus* status = current(agent_id, session_id);
  if (status == nullptr) return;
  status->connected = false;
  status->disconnected_at_ms = now_ms;
}

const AgentStatus* AgentStatusBoard::find(std::string_view agent_id) const {
  const auto it = agents_.find(agent_id);
  return it == agents_.end() ? nullptr : &it->second;
}

AgentStatus* AgentStatusBoard::current(std::string_view agent_id, std::string_view session_id) {
  const auto it = agents_.find(agent_id);
  if (it == agents_.end() || it->second.session_id != session_id) return nullptr;
  return &it->second;
}

}  // namespace backupy::controlplane::detail
