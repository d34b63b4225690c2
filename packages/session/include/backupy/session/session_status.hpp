#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace backupy::session {

enum class ConnectionState { disconnected, connecting, registering, online, stopping };
std::string_view to_string(ConnectionState state);

// A copy of what the session knows, for status files and dump-state.
struct SessionStatus {
  ConnectionState state = ConnectionState::disconnected;
  std::string session_id;
  std::vector<std::string> server_capabilities;
  std::uint64_t connected_since_ms = 0;  // 0 when not online
  std::uint64_t last_message_ms = 0;     // last frame from the server
  std::uint64_t reconnects = 0;          // connection attempts after the first
  std::uint64_t next_attempt_ms = 0;     // when disconnected and waiting
  std::string last_error;                // why the last connection ended
  std::uint32_t heartbeat_interval_sec = 0;
};

}  // namespace backupy::session
