#pragma once
// The running agent's status, published as a small JSON file in the state
// directory so that `health-check` and `dump-state` (separate processes, e.g.
// Docker's HEALTHCHECK) can read it while the agent runs.
//
// Health rule (docs/operations.md): healthy while the agent process is alive
// and its control loop refreshed the file within kStaleAfter. Being
// disconnected from the control plane is reported but is not "unhealthy":
// restarting the container cannot bring a server back, and backups queue on
// disk meanwhile.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "backupy/session/session_status.hpp"

namespace backupy::agent {

inline constexpr std::chrono::seconds kStatusInterval{2};
inline constexpr std::chrono::seconds kStaleAfter{30};

std::filesystem::path status_file_path(const std::filesystem::path& state_dir);

struct AgentStatus {
  int pid = 0;
  std::string agent_version;
  std::uint64_t started_at_ms = 0;
  std::uint64_t updated_at_ms = 0;
  bool running = true;  // false once the agent has shut down cleanly
  session::SessionStatus session;
  std::uint64_t config_version = 0;
  std::uint64_t outbox_depth = 0;
};

std::string render_status_json(const AgentStatus& status);

struct HealthVerdict {
  bool healthy = false;
  std::string reason;  // one line for humans and Docker's health log
};

// process_alive(pid) is injected for tests.
HealthVerdict evaluate_health(const std::string& status_json, std::uint64_t now_ms,
                              bool (*process_alive)(int pid));

}  // namespace backupy::agent
