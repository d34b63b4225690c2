#pragma once
// Command-line surface of backupy-agent.
//
//   backupy-agent [run]                  run the agent (default)
//   backupy-agent version [--json]
//   backupy-agent health-check           exit 0 healthy, 1 unhealthy (with the reason)
//   backupy-agent dump-state [--allow-secrets]
//   backupy-agent help
// Exit codes: 0 ok, 1 failure (bad configuration, unhealthy...), 2 wrong usage.
#include <string>
#include <vector>

namespace backupy::agent {

struct Command {
  enum class Kind { run, version, health_check, dump_state, help };
  Kind kind = Kind::run;
  bool json = false;
  bool allow_secrets = false;
};

// nullopt-like failure is signalled through error (set, non-empty).
Command parse_command_line(const std::vector<std::string>& args, std::string& error);
std::string usage_text();

int main_with_args(int argc, char** argv);

}  // namespace backupy::agent
