#include "cli.hpp"

#include <cstdio>
#include <iostream>

#include "backupy/config/bootstrap.hpp"
#include "commands.hpp"

namespace backupy::agent {

std::string usage_text() {
  return "usage: backupy-agent [command]\n"
         "\n"
         "commands:\n"
         "  run                       run the agent (default)\n"
         "  version [--json]          print the version\n"
         "  health-check              exit 0 if the running agent is healthy, 1 otherwise\n"
         "  dump-state [--allow-secrets]\n"
         "                            print the agent's state as JSON (secrets redacted\n"
         "                            unless --allow-secrets)\n"
         "  help                      print this text\n"
         "\n"
         "configuration comes from the environment: BACKUPY_SERVER_URL, BACKUPY_AGENT_KEY,\n"
         "BACKUPY_STATE_DIR, ... (see docs/configuration.md)\n";
}

Command parse_command_line(const std::vector<std::string>& args, std::string& error) {
  Command command;
  error.clear();
  if (args.empty()) return command;
  const std::string& name = args[0];
  std::vector<std::string> flags(args.begin() + 1, args.end());
  auto take_flag = [&](const char* flag) {
    for (auto it = flags.begin(); it != flags.end(); ++it) {
      if (*it == flag) {
        flags.erase(it);
        return true;
      }
    }
    return false;
  };

  if (name == "run") {
    command.kind = Command::Kind::run;
  } else if (name == "version" || name == "--version") {
    command.kind = Command::Kind::version;
    command.json = take_flag("--json");
  } else if (name == "health-check") {
    command.kind = Command::Kind::health_check;
  } else if (name == "dump-state") {
    command.kind = Command::Kind::dump_state;
    command.allow_secrets = take_flag("--allow-secrets");
  } else if (name == "help" || name == "--help" || name == "-h") {
    command.kind = Command::Kind::help;
  } else {
    error = "unknown command '" + name + "'";
    return command;
  }
  if (!flags.empty()) error = "unexpected argument '" + flags.front() + "' for " + name;
  return command;
}

int main_with_args(int argc, char** argv) {
  std::string error;
  const Command command =
      parse_command_line(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!error.empty()) {
    std::cerr << "backupy-agent: " << error << "\n\n" << usage_text();
    return 2;
  }
  switch (command.kind) {
    case Command::Kind::help: std::cout << usage_text(); return 0;
    case Command::Kind::version: return print_version(command.json);
    case Command::Kind::health_check: return health_check(config::process_env());
    case Command::Kind::dump_state: return dump_state(config::process_env(), command.allow_secrets);
    case Command::Kind::run: break;
  }
  auto loaded = config::load_bootstrap(config::process_env());
  if (auto* problems = std::get_if<std::vector<std::string>>(&loaded)) {
    std::cerr << "backupy-agent: invalid configuration:\n";
    for (const auto& problem : *problems) std::cerr << "  - " << problem << "\n";
    return 1;
  }
  const auto& bootstrap = std::get<config::BootstrapConfig>(loaded);
  const ProcessImage image = current_process_image(argc, argv);
  const AgentExit exit = run_agent(bootstrap, image);
  return exit.exec ? switch_binary(bootstrap, *exit.exec, image) : exit.code;
}

}  // namespace backupy::agent
