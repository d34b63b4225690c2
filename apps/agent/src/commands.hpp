#pragma once
// Entry points of the agent's subcommands; each returns the process exit code.
#include <optional>

#include "backupy/config/bootstrap.hpp"
#include "self_update_control.hpp"

namespace backupy::agent {

// How `run` ended: an exit code, or a switch of binaries to carry out now that every resource
// of the run is released (self-update, rollback).
struct AgentExit {
  int code = 0;
  std::optional<ExecRequest> exec;
};
AgentExit run_agent(const config::BootstrapConfig& bootstrap, const ProcessImage& image);
int print_version(bool json);
int health_check(const config::EnvLookup& env);
int dump_state(const config::EnvLookup& env, bool allow_secrets);

// The capability strings this build advertises in Register (docs/protocol.md);
// docker_discovery: discovery runs (BACKUPY_DISABLE_DISCOVERY is not set). `version --json`
// lists what the build can do, so it passes true.
std::vector<std::string> agent_capabilities(bool docker_discovery);

}  // namespace backupy::agent
