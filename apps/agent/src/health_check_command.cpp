#include <signal.h>

#include <cerrno>
#include <iostream>

#include "backupy/core/files.hpp"
#include "backupy/core/time.hpp"
#include "commands.hpp"
#include "status_file.hpp"

namespace backupy::agent {
namespace {

bool process_alive(int pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

int health_check(const config::EnvLookup& env) {
  const std::filesystem::path state_dir =
      config::lookup(env, "STATE_DIR").value_or(std::string(config::kDefaultStateDir));
  const auto path = status_file_path(state_dir);
  std::optional<std::string> content;
  try {
    content = core::read_file(path);
  } catch (const std::exception& e) {
    std::cout << "unhealthy: " << e.what() << "\n";
    return 1;
  }
  if (!content) {
    std::cout << "unhealthy: agent is not running (no status file at " << path.string() << ")\n";
    return 1;
  }
  const HealthVerdict verdict = evaluate_health(*content, core::now_ms(), &process_alive);
  std::cout << (verdict.healthy ? "" : "unhealthy: ") << verdict.reason << "\n";
  return verdict.healthy ? 0 : 1;
}

}  // namespace backupy::agent
