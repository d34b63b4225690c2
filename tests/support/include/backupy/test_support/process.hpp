#pragma once
// A child process for integration tests: argv + environment in, stdout and
// stderr captured to files, killed (SIGKILL) on destruction if still running.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace backupy::test_support {

class Process {
 public:
  // env replaces the environment entirely (plus PATH and HOME from ours).
  Process(std::vector<std::string> argv, std::map<std::string, std::string> env,
          std::filesystem::path stdout_file, std::filesystem::path stderr_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int signo);
  // Waits for exit; returns the exit code (128+signal if killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill_and_wait();

  const std::filesystem::path& stdout_file() const { return stdout_file_; }
  const std::filesystem::path& stderr_file() const { return stderr_file_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::filesystem::path stdout_file_, stderr_file_;
};

// Runs a command to completion; returns {exit code, stdout}.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(std::vector<std::string> argv, std::map<std::string, std::string> env,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Resident set size of a process in KiB (from /proc/<pid>/status), 0 if unknown.
long rss_kib(pid_t pid);

}  // namespace backupy::test_support
