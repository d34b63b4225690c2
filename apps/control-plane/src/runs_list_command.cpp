// backupy-control-plane runs list: GET /v1/runs with filters, as a table (newest first).
#include <iostream>

#include "backupy/core/human_bytes.hpp"
#include "backupy/core/percent.hpp"
#include "commands.hpp"
#include "text_table.hpp"

namespace backupy::cpcli {
namespace {

using nlohmann::json;

// "agent=a&limit=5" from the filters that were given.
std::string query_of(const ParsedArgs& parsed) {
  std::string query;
  for (const auto& [option, name] :
       {std::pair{"--agent", "agent"}, std::pair{"--job", "job"}, std::pair{"--status", "status"},
        std::pair{"--limit", "limit"}}) {
    if (const auto value = parsed.value(option)) {
      query += (query.empty() ? "?" : "&") + std::string(name) + "=" + core::percent_encode(*value);
    }
  }
  return query;
}

}  // namespace

int runs_list_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {"--agent", "--job", "--status", "--limit"});
  if (!parsed.positionals.empty()) {
    throw UsageError("runs list takes no arguments, only --agent, --job, --status, --limit");
  }
  const OperatorClient client(client_settings(parsed, env));
  // The server validates the filters and says what is wrong with them.
  const json answer = client.call("GET", "/v1/runs" + query_of(parsed));

  TextTable table({"RUN", "JOB", "AGENT", "STATUS", "CREATED", "SIZE", "DETAIL"});
  for (const json& run : answer.value("runs", json::array())) {
    const std::string error = run.value("error", "");
    const std::string status = run.value("status", "");
    std::string detail = error.empty() ? run.value("current_step", "") : error;
    if (status == "running") detail += " " + std::to_string(run.value("progress_percent", 0)) + "%";
    const unsigned long long size = run.value("size_bytes", 0ULL);
    table.add(
        {run.value("run_id", ""), run.value("job_id", ""), run.value("agent_id", ""), status,
         run.value("created_at", json()).is_string() ? run["created_at"].get<std::string>() : "-",
         size > 0 ? core::human_bytes(size) : "-", detail.empty() ? "-" : detail});
  }
  table.print(std::cout);
  return 0;
}

}  // namespace backupy::cpcli
