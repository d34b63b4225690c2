#pragma once
// Entry points of the agent's subcommands; each returns the process exit code.
#include "backupy/config/bootstrap.hpp"

namespace backupy::agent {

int run_agent(const config::BootstrapConfig& bootstrap);
int print_version(bool json);
int health_check(const config::EnvLookup& env);
int dump_state(const config::EnvLookup& env, bool allow_secrets);

// The capability strings this build advertises in Register (docs/protocol.md);
// docker_discovery: discovery runs (BACKUPY_DISABLE_DISCOVERY is not set). `version --json`
// lists what the build can do, so it passes true.
std::vector<std::string> agent_capabilities(bool docker_discovery);

}  // namespace backupy::agent
