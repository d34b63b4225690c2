#pragma once
// What the control plane last heard from each agent (private to the package), for
// GET /v1/agents: the sessions feed it (Register, ConfigUpdate sent, Heartbeat, disconnect) and
// the operator API reads it. Touched only on the server thread. With a Catalog it starts from
// the agents the catalog knows (disconnected, with their last stored heartbeat) and records
// registers, sent configurations, heartbeats (throttled, Catalog::kHeartbeatWriteIntervalMs)
// and disconnects there, with the session that carried them.
//
// Events are keyed by session id so that a replaced session that ends late cannot mark its
// agent's newer session as gone.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane::detail {

struct AgentStatus {
  std::string session_id;                // the session that registered last
  bool connected = false;                // that session is still open
  std::uint64_t connected_since_ms = 0;  // its Register
  std::uint64_t disconnected_at_ms = 0;  // when it ended, if it did
  std::uint64_t last_heartbeat_ms = 0;   // 0: none known
  // The AgentConfig.version in the RegisterAck or last ConfigUpdate sent to the agent.
  std::optional<std::uint64_t> config_version_sent;
  // The version the agent says it runs: Register.last_known_config_version, then every
  // Heartbeat.config_version.
  std::optional<std::uint64_t> config_version_acked;
  std::optional<backup::v1::AgentMetrics> metrics;  // of the last heartbeat
  std::string agent_version;                        // from Register
  std::string hostname;                             // from Register
};

class Catalog;

class AgentStatusBoard {
 public:
  // Loads the agents catalog knows (it must outlive the board) and records into it from now on.
  // Throws sqlite::Error if the catalog cannot be read.
  void attach(Catalog& catalog);

  void on_register(std::string_view agent_id, std::string_view session_id,
                   const backup::v1::Register& reg, std::uint64_t config_version_sent,
                   std::uint64_t now_ms, std::string_view remote = {});
  void on_config_sent(std::string_view agent_id, std::string_view session_id,
                      std::uint64_t version);
  void on_heartbeat(std::string_view agent_id, std::string_view session_id,
                    const backup::v1::Heartbeat& heartbeat, std::uint64_t now_ms);
  void on_disconnect(std::string_view agent_id, std::string_view session_id, std::uint64_t now_ms,
                     std::string_view reason = {});

  // nullptr if the agent never registered (since the process started, without a catalog).
  const AgentStatus* find(std::string_view agent_id) const;

 private:
  // The agent's status if session_id is its current session, else nullptr.
  AgentStatus* current(std::string_view agent_id, std::string_view session_id);

  std::map<std::string, AgentStatus, std::less<>> agents_;
  Catalog* catalog_ = nullptr;
};

}  // namespace backupy::controlplane::detail
