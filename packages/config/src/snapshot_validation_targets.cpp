// Rules for Target: a known engine, a sane port, and what each strategy needs.
#include "snapshot_validation_rules.hpp"

namespace backupy::config::detail {

void check_target(const backup::v1::Target& target, std::string_view label, Report& report) {
  const std::string prefix = std::string(label) + ": ";

  // proto3 enums are open: an unknown number from a newer server arrives intact.
  if (target.type() == backup::v1::DB_UNSPECIFIED) {
    report.add(prefix + "type is unspecified");
  } else if (!backup::v1::DbType_IsValid(target.type())) {
    report.add(prefix + "unknown type " + std::to_string(target.type()));
  }

  const backup::v1::ConnectionConfig& connection = target.connection();
  // Port 0 means the engine's default port.
  if (connection.port() > 65535) {
    report.add(prefix + "port " + std::to_string(connection.port()) + " is above 65535");
  }
  if (!backup::v1::ConnectionStrategy_IsValid(connection.strategy())) {
    report.add(prefix + "unknown connection strategy " + std::to_string(connection.strategy()));
  } else if (connection.strategy() == backup::v1::DOCKER_EXEC &&
             connection.container_id().empty()) {
    report.add(prefix + "docker_exec strategy needs a container_id");
  }
  // UNIX_SOCKET with an empty host is fine: the engine's default socket path.
}

}  // namespace backupy::config::detail
