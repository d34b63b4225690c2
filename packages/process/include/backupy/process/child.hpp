#pragma once
// A child process the agent owns: dump tools (issue 4) and hooks.
//
// Decisions:
//  - Every child is the leader of its own process group (setpgid(0, 0) before
//    exec), so kill_group() reaches everything it forked: `sh -c "a | b"`,
//    pg_dump's workers, a hook's background jobs.
//  - The environment is exactly SpawnOptions::env: nothing is inherited, so
//    the agent key and DB passwords never leak into a child by accident.
//  - argv[0] is an absolute path or is searched in the PATH given in env (not
//    the agent's own PATH).
//  - stdin is /dev/null; stdout/stderr are pipes (read through Child's fds) or
//    /dev/null. Every other descriptor is closed in the child (CLOEXEC + an
//    explicit sweep), so no socket or spool file leaks into a hook.
//  - Signal dispositions and the signal mask are reset to the defaults in the
//    child: an ignored SIGPIPE in the agent must not be inherited by a tool.
//  - fork + exec, not posix_spawn (see src/child.cpp for why).
//  - RAII: a Child destroyed while still running gets SIGKILL on its whole
//    group and is reaped; no zombie, no orphaned grandchild left behind.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace backupy::process {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0]: absolute path, or a name looked up in env's PATH
  std::vector<std::string> env;   // "NAME=value" entries: the child's entire environment
  std::optional<std::filesystem::path> cwd;
  bool capture_stdout = true;  // false: /dev/null
  bool capture_stderr = true;  // false: /dev/null
};

struct ExitStatus {
  int code = -1;   // exit code when exited normally, else -1
  int signal = 0;  // terminating signal, else 0
  bool success() const { return code == 0 && signal == 0; }
  // "exit code 3" | "killed by signal 9 (SIGKILL)"
  std::string describe() const;
};

class Child {
 public:
  // Throws std::system_error naming argv[0] when the program cannot be started
  // (not found, not executable, fork failure). Exec failures in the child are
  // reported through a CLOEXEC pipe, so a missing program throws here instead
  // of looking like "exit code 127".
  static Child spawn(const SpawnOptions& options);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // SIGKILL to the group + reap if still running; closes the pipes

  pid_t pid() const { return pid_; }
  // Read ends of the pipes, -1 when not captured or already closed. Blocking
  // descriptors; callers poll() them (see pump.hpp).
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  void close_stdout();
  void close_stderr();

  // Sends sig to the whole process group (kill(-pgid)). Safe after exit (no-op
  // once reaped: the pid may have been reused). Never throws.
  void kill_group(int sig) noexcept;
  // Non-blocking: true once the child has terminated, *without* reaping it.
  // The zombie keeps its pid and so the group id reserved, which lets pump()
  // still kill_group() grandchildren after the direct child is gone.
  bool has_terminated();
  // Non-blocking reap; the status once the child has exited.
  std::optional<ExitStatus> try_wait();
  // Blocking reap. Never throws (an already reaped child returns its status).
  ExitStatus wait();
  // After wait/try_wait returned a status.
  bool exited() const { return status_.has_value(); }

 private:
  Child() = default;
  void reset() noexcept;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::optional<ExitStatus> status_;
};

// Looks name up in the PATH found in env (the first "PATH=..." entry; empty
// entries are skipped, never read as the current directory), or returns name
// if it contains a '/' (execve then reports a missing or non-executable file).
// nullopt when not found or not executable.
std::optional<std::filesystem::path> find_program(const std::string& name,
                                                  const std::vector<std::string>& env);

}  // namespace backupy::process
