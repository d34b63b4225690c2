#include "agent_status.hpp"

#include "catalog.hpp"

namespace backupy::controlplane::detail {

void AgentStatusBoard::attach(Catalog& catalog) {
  catalog.load_agents([this](const CatalogAgent& agent) {
    AgentStatus& status = agents_[agent.agent_id];
    status.session_id = agent.session_id;
    status.connected = false;  // no session survives the process
    status.connected_since_ms = agent.connected_since_ms;
    status.disconnected_at_ms = agent.disconnected_at_ms;
    status.last_heartbeat_ms = agent.last_heartbeat_ms;
    status.config_version_sent = agent.config_version_sent;
    status.config_version_acked = agent.config_version_acked;
    status.agent_version = agent.agent_version;
    status.hostname = agent.hostname;
  });
  catalog_ = &catalog;
}

void AgentStatusBoard::on_register(std::string_view agent_id, std::string_view session_id,
                                   const backup::v1::Register& reg,
                                   std::uint64_t config_version_sent, std::uint64_t now_ms,
                                   std::string_view remote) {
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
  if (catalog_ == nullptr) return;
  CatalogAgent row;
  row.agent_id = agent_id;
  row.session_id = session_id;
  row.connected_since_ms = now_ms;
  row.config_version_sent = status.config_version_sent;
  row.config_version_acked = status.config_version_acked;
  row.agent_version = status.agent_version;
  row.hostname = status.hostname;
  catalog_->record_register(row, remote);
}

void AgentStatusBoard::on_config_sent(std::string_view agent_id, std::string_view session_id,
                                      std::uint64_t version) {
  AgentStatus* status = current(agent_id, session_id);
  if (status == nullptr) return;
  status->config_version_sent = version;
  if (catalog_ != nullptr) catalog_->record_config_sent(agent_id, version);
}

void AgentStatusBoard::on_heartbeat(std::string_view agent_id, std::string_view session_id,
                                    const backup::v1::Heartbeat& heartbeat, std::uint64_t now_ms) {
  AgentStatus* status = current(agent_id, session_id);
  if (status == nullptr) return;
  status->last_heartbeat_ms = now_ms;
  status->config_version_acked = heartbeat.config_version();
  status->metrics = heartbeat.metrics();
  if (catalog_ != nullptr) catalog_->record_heartbeat(agent_id, now_ms, heartbeat.config_version());
}

void AgentStatusBoard::on_disconnect(std::string_view agent_id, std::string_view session_id,
                                     std::uint64_t now_ms, std::string_view reason) {
  AgentStatus* status = current(agent_id, session_id);
  // The session row is closed even for a replaced session; the agent row only if current.
  if (catalog_ != nullptr) {
    catalog_->record_disconnect(agent_id, session_id, now_ms,
                                status != nullptr ? status->last_heartbeat_ms : 0, reason);
  }
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
