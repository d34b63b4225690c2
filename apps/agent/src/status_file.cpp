#include "status_file.hpp"

#include <nlohmann/json.hpp>

namespace backupy::agent {

std::filesystem::path status_file_path(const std::filesystem::path& state_dir) {
  return state_dir / "agent-status.json";
}

std::string render_status_json(const AgentStatus& status) {
  const auto& s = status.session;
  nlohmann::json out = {
      {"pid", status.pid},
      {"agent_version", status.agent_version},
      {"started_at_ms", status.started_at_ms},
      {"updated_at_ms", status.updated_at_ms},
      {"running", status.running},
      {"config_version", status.config_version},
      {"outbox_depth", status.outbox_depth},
      {"connection",
       {{"state", session::to_string(s.state)},
        {"session_id", s.session_id},
        {"server_capabilities", s.server_capabilities},
        {"connected_since_ms", s.connected_since_ms},
        {"last_message_ms", s.last_message_ms},
        {"reconnects", s.reconnects},
        {"next_attempt_ms", s.next_attempt_ms},
        {"last_error", s.last_error},
        {"heartbeat_interval_sec", s.heartbeat_interval_sec}}},
  };
  return out.dump(2) + "\n";
}

HealthVerdict evaluate_health(const std::string& status_json, std::uint64_t now_ms,
                              bool (*process_alive)(int pid)) {
  const auto status = nlohmann::json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.is_object()) {
    return {false, "agent status file is unreadable"};
  }
  const int pid = status.value("pid", 0);
  if (!status.value("running", false)) return {false, "agent is not running (it shut down)"};
  if (pid <= 0 || !process_alive(pid)) {
    return {false, "agent process " + std::to_string(pid) + " is not running"};
  }
  const std::uint64_t updated = status.value("updated_at_ms", std::uint64_t{0});
  const std::uint64_t age_ms = now_ms > updated ? now_ms - updated : 0;
  if (age_ms > static_cast<std::uint64_t>(kStaleAfter.count()) * 1000) {
    return {false, "agent control loop is stuck: status last refreshed " +
                       std::to_string(age_ms / 1000) + "s ago"};
  }
  const auto connection = status.value("connection", nlohmann::json::object());
  const std::string state = connection.value("state", "unknown");
  if (state == "online") {
    return {true, "healthy: online (session " + connection.value("session_id", "") + ", config v" +
                      std::to_string(status.value("config_version", 0)) + ")"};
  }
  std::string reason = "healthy: " + state + " (control plane not reachable";
  if (const std::string error = connection.value("last_error", ""); !error.empty()) {
    reason += ": " + error;
  }
  reason += "; results queue on disk)";
  return {true, reason};
}

}  // namespace backupy::agent
