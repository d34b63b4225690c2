#include "backupy/discovery/discover.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "backupy/discovery/container.hpp"

namespace backupy::discovery {

backup::v1::DiscoveryReport discover(docker::EngineClient& client) {
  backup::v1::DiscoveryReport report;
  for (const std::string& id : client.running_container_ids()) {
    const std::optional<std::string> body = client.inspect_container(id);
    if (!body) continue;  // stopped and removed since the list: not running any more
    nlohmann::json inspect;
    try {
      inspect = nlohmann::json::parse(*body);
    } catch (const nlohmann::json::exception&) {
      throw DiscoveryError("container inspect of " + id + " is not JSON");
    }
    backup::v1::DiscoveredContainer container = container_from_inspect(inspect);
    if (container.detected_db_type() == backup::v1::DbType_Name(backup::v1::DB_UNSPECIFIED)) {
      continue;
    }
    *report.add_containers() = std::move(container);
  }
  return report;
}

}  // namespace backupy::discovery
