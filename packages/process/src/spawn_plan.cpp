#include "spawn_plan.hpp"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

namespace backupy::process {
namespace {

std::vector<char*> pointers(std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (std::string& item : items) out.push_back(item.data());
  out.push_back(nullptr);
  return out;
}

int highest_fd_bound() {
  const long open_max = ::sysconf(_SC_OPEN_MAX);
  // A huge or unlimited limit would make the fallback loop slow; close_range
  // exists on every kernel we support (5.9+), so the fallback is a safety net.
  constexpr long kCap = 1 << 20;
  return static_cast<int>(open_max <= 0 || open_max > kCap ? kCap : open_max);
}

// Closes every descriptor >= 3 except keep. async-signal-safe.
void close_other_fds(int keep, int max_fd) noexcept {
  const auto first = static_cast<unsigned>(STDERR_FILENO + 1);
  const auto kept = static_cast<unsigned>(keep);
  bool done = true;
  if (kept > first && ::close_range(first, kept - 1, 0) != 0) done = false;
  if (done && ::close_range(kept + 1, ~0U, 0) != 0) done = false;
  if (done) return;
  for (int fd = STDERR_FILENO + 1; fd < max_fd; ++fd) {
    if (fd != keep) ::close(fd);
  }
}

}  // namespace

SpawnPlan::SpawnPlan(const SpawnOptions& options, const std::filesystem::path& resolved)
    : program(resolved.string()),
      cwd(options.cwd ? options.cwd->string() : std::string()),
      argv_storage(options.argv),
      env_storage(options.env),
      argv(pointers(argv_storage)),
      envp(pointers(env_storage)),
      max_fd(highest_fd_bound()) {}

void exec_child(const SpawnPlan& plan) noexcept {
  const auto fail = [&plan](ExecFailure::Step step) {
    const ExecFailure failure{step, errno};
    // Best effort: if this write fails the parent sees EOF and then exit 127.
    [[maybe_unused]] const ssize_t n = ::write(plan.error_fd, &failure, sizeof failure);
    ::_exit(127);
  };

  // Handlers do not survive exec, but *ignored* signals do: an agent that
  // ignores SIGPIPE would otherwise hand that to pg_dump. Signals were blocked
  // by the parent around fork(); unblock only after the reset.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &default_action, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::setpgid(0, 0) != 0) fail(ExecFailure::Step::setpgid);
  // All sources are > 2 (see above_stdio), so no dup2 clobbers the next one's
  // source; dup2 clears FD_CLOEXEC on the new descriptor.
  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.stdout_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.stderr_fd, STDERR_FILENO) < 0) {
    fail(ExecFailure::Step::redirect);
  }
  if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) != 0) fail(ExecFailure::Step::chdir);
  // CLOEXEC covers our own descriptors; the sweep also catches those opened
  // without it by libraries (or inherited by the agent itself).
  close_other_fds(plan.error_fd, plan.max_fd);
  ::execve(plan.program.c_str(), plan.argv.data(), plan.envp.data());
  fail(ExecFailure::Step::exec);
  ::_exit(127);  // unreachable; fail() exits
}

}  // namespace backupy::process
