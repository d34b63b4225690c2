#include <iostream>
#include <nlohmann/json.hpp>

#include "backupy/core/build_info.hpp"
#include "backupy/drivers/builtin.hpp"
#include "backupy/hostinfo/identity.hpp"
#include "backupy/wire/capabilities.hpp"
#include "commands.hpp"

namespace backupy::agent {

// The v1 capability strings name what the build can dump ("pg_dump",
// "mysqldump"), so they follow the registered engines.
std::vector<std::string> agent_capabilities(bool docker_discovery) {
  const drivers::DriverRegistry engines = drivers::builtin_drivers();
  std::vector<std::string> capabilities = {std::string(wire::kCapDeliveryAck),
                                           std::string(wire::kCapAgentCron)};
  if (engines.supports(backup::v1::POSTGRESQL)) capabilities.emplace_back("pg_dump");
  if (engines.supports(backup::v1::MYSQL) || engines.supports(backup::v1::MARIADB)) {
    capabilities.emplace_back("mysqldump");
  }
  if (docker_discovery) capabilities.emplace_back(wire::kCapDockerDiscovery);
  return capabilities;
}

int print_version(bool json) {
  const auto identity = hostinfo::read_host_identity();
  if (!json) {
    std::cout << "backupy-agent " << core::kVersion << " (" << core::kCommit << ", " << identity.os
              << "/" << identity.arch << ")\n";
    return 0;
  }
  nlohmann::json out = {
      {"name", "backupy-agent"}, {"version", core::kVersion},
      {"commit", core::kCommit}, {"build_type", core::kBuildType},
      {"os", identity.os},       {"arch", identity.arch},
      {"protocol", "backup.v1"}, {"capabilities", agent_capabilities(true)},
  };
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace backupy::agent
