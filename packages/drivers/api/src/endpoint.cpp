#include "backupy/drivers/endpoint.hpp"

namespace backupy::drivers {

Endpoint resolve_endpoint(const backup::v1::Target& target, const EngineDefaults& defaults) {
  const auto& c = target.connection();
  Endpoint at;
  at.socket = c.strategy() == backup::v1::UNIX_SOCKET;
  at.docker = c.strategy() == backup::v1::DOCKER_EXEC;
  at.container = c.container_id();
  at.host = c.host();
  at.port = c.port();
  if (!at.docker) {
    if (at.host.empty()) at.host = at.socket ? defaults.socket_path : defaults.tcp_host;
    if (at.port == 0) at.port = defaults.port;
  }
  at.database = c.database();
  at.user = c.username();
  at.password = c.password_secret_ref();
  return at;
}

}  // namespace backupy::drivers
