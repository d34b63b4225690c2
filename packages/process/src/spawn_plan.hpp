#pragma once
// What the forked child does between fork() and execve() (private to this
// package). Everything is prepared in the parent, because only
// async-signal-safe calls are allowed in the child of a multi-threaded process:
// no allocation, no locks, no C++ library calls.
#include <filesystem>
#include <string>
#include <vector>

#include "backupy/process/child.hpp"

namespace backupy::process {

// Written by the child to the CLOEXEC error pipe when it fails before exec.
struct ExecFailure {
  enum class Step : int { exec, chdir, setpgid, redirect };
  Step step = Step::exec;
  int error = 0;
};

struct SpawnPlan {
  SpawnPlan(const SpawnOptions& options, const std::filesystem::path& program);

  std::string program;
  std::string cwd;  // empty: keep the agent's
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;  // null-terminated, pointing into argv_storage
  std::vector<char*> envp;  // null-terminated, pointing into env_storage
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int error_fd = -1;  // write end of the exec-error pipe (CLOEXEC)
  int max_fd = 0;     // upper bound for the close() fallback when close_range is missing
};

// Runs in the child: never returns (execve or _exit(127)).
[[noreturn]] void exec_child(const SpawnPlan& plan) noexcept;

}  // namespace backupy::process
