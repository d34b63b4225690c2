// backupy-control-plane agents: GET /v1/agents as a table.
#include <cstdio>
#include <iostream>

#include "backupy/core/human_bytes.hpp"
#include "commands.hpp"
#include "text_table.hpp"

namespace backupy::cpcli {
namespace {

using nlohmann::json;

std::string text_or_dash(const json& value) {
  if (value.is_string()) return value.get<std::string>().empty() ? "-" : value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<unsigned long long>());
  return "-";
}

// "1.2 GiB/3.9 GiB", or "-" without metrics.
std::string usage(const json& metrics, const char* used, const char* total) {
  if (!metrics.is_object()) return "-";
  return core::human_bytes(metrics.value(used, 0ULL)) + "/" +
         core::human_bytes(metrics.value(total, 0ULL));
}

}  // namespace

int agents_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {});
  if (!parsed.positionals.empty()) throw UsageError("agents takes no arguments");
  const OperatorClient client(client_settings(parsed, env));
  const json answer = client.call("GET", "/v1/agents");

  TextTable table({"AGENT", "STATE", "LAST HEARTBEAT", "CONFIG SENT/ACKED", "CPU", "MEM", "DISK",
                   "QUEUE", "VERSION", "HOST"});
  for (const json& agent : answer.value("agents", json::array())) {
    const json& metrics = agent.contains("metrics") ? agent["metrics"] : json();
    std::string cpu = "-";
    if (metrics.is_object()) {
      char text[16];
      std::snprintf(text, sizeof text, "%.1f%%", metrics.value("cpu_percent", 0.0));
      cpu = text;
    }
    table.add({agent.value("agent_id", ""), agent.value("state", ""),
               text_or_dash(agent.value("last_heartbeat", json())),
               text_or_dash(agent.value("config_version_sent", json())) + "/" +
                   text_or_dash(agent.value("config_version_acked", json())),
               cpu, usage(metrics, "mem_used_bytes", "mem_total_bytes"),
               usage(metrics, "disk_used_bytes", "disk_total_bytes"),
               metrics.is_object() ? std::to_string(metrics.value("queue_depth", 0U)) : "-",
               text_or_dash(agent.value("agent_version", json())),
               text_or_dash(agent.value("hostname", json()))});
  }
  table.print(std::cout);
  return 0;
}

}  // namespace backupy::cpcli
