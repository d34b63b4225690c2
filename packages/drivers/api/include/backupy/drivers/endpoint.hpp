#pragma once
// Where a target's server is, with the engine's defaults applied: every engine
// reads ConnectionConfig the same way, only the defaults differ.
#include <cstdint>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"

namespace backupy::drivers {

struct EngineDefaults {
  std::string_view tcp_host;     // TCP without a host ("localhost")
  std::string_view socket_path;  // UNIX_SOCKET without a host (file or directory, per engine)
  std::uint32_t port = 0;        // TCP (and PostgreSQL's socket file) without a port
};

struct Endpoint {
  bool socket = false;    // UNIX_SOCKET: host is a socket path
  bool docker = false;    // DOCKER_EXEC: tools run inside container
  std::string container;  // connection.container_id
  // TCP/UNIX_SOCKET: never empty / 0. DOCKER_EXEC: as configured, because
  // inside the container empty means the tools' own defaults (usually the
  // server's local socket there), which the agent cannot know.
  std::string host;
  std::uint32_t port = 0;
  std::string database;
  std::string user;
  std::string password;  // password_secret_ref: the plaintext password in v1
};

Endpoint resolve_endpoint(const backup::v1::Target& target, const EngineDefaults& defaults);

}  // namespace backupy::drivers
