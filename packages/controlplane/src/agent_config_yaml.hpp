#pragma once
// YAML form of backup.v1.AgentConfig (private to the package; format in server_config.hpp).
#include <string>
#include <string_view>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "yaml_reader.hpp"

namespace backupy::controlplane::detail {

// Converts and validates the `config:` mapping of one agent. Passwords found are appended to
// *passwords (so the caller can register them with the log redactor).
backup::v1::AgentConfig parse_agent_config(const YamlReader& reader, const YAML::Node& node,
                                           std::string_view path,
                                           std::vector<std::string>* passwords);

}  // namespace backupy::controlplane::detail
