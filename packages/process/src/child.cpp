#include "backupy/process/child.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>
#include <utility>

#include "spawn_plan.hpp"
#include "unique_fd.hpp"

namespace backupy::process {
namespace {

using detail::UniqueFd;

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

std::string cannot_start(const std::string& name) {
  return "cannot start \"" + name + "\"";
}

// Descriptors the child dup2()s onto 0/1/2 must not themselves be 0/1/2 (the
// agent may run with a closed stdin or stdout), or one dup2 could overwrite
// the source of the next.
UniqueFd above_stdio(UniqueFd fd) {
  if (fd.get() > STDERR_FILENO) return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
  if (!moved.valid()) throw_errno(errno, "cannot move a descriptor above stdio");
  return moved;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe(const std::string& name) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, cannot_start(name) + ": pipe");
  Pipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  pipe.write = above_stdio(std::move(pipe.write));
  return pipe;
}

ExitStatus decode(int raw) {
  ExitStatus status;
  if (WIFEXITED(raw)) status.code = WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) status.signal = WTERMSIG(raw);
  return status;
}

std::string failure_message(const std::string& name, const SpawnPlan& plan,
                            const ExecFailure& failure) {
  switch (failure.step) {
    case ExecFailure::Step::exec: return cannot_start(name);
    case ExecFailure::Step::chdir:
      return cannot_start(name) + ": cannot change directory to \"" + plan.cwd + "\"";
    case ExecFailure::Step::setpgid: return cannot_start(name) + ": setpgid";
    case ExecFailure::Step::redirect: return cannot_start(name) + ": redirecting stdio";
  }
  return cannot_start(name);
}

}  // namespace

// fork + exec rather than posix_spawn: glibc's posix_spawn could do most of
// this (POSIX_SPAWN_SETPGROUP, addclosefrom_np since 2.34, addchdir_np), but
// its only error report is one errno, so "the working directory is missing"
// and "the program is missing" look the same. With fork we say which step
// failed, keep the close-everything sweep under our control (close_range with
// a fallback), and follow the documented design literally. The agent is small
// (~15 MiB RSS), so fork's page-table copy costs nothing measurable.
Child Child::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("spawn: empty argv");
  const std::string& name = options.argv.front();
  const auto program = find_program(name, options.env);
  if (!program) {
    throw_errno(ENOENT, cannot_start(name) + " (not found in the child's PATH)");
  }

  UniqueFd devnull = above_stdio(UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC)));
  if (!devnull.valid()) throw_errno(errno, cannot_start(name) + ": /dev/null");
  Pipe out, err;
  if (options.capture_stdout) out = make_pipe(name);
  if (options.capture_stderr) err = make_pipe(name);
  Pipe exec_error = make_pipe(name);

  // Everything the child needs is prepared here: after fork() only
  // async-signal-safe calls are allowed (another thread may hold malloc's lock).
  SpawnPlan plan(options, *program);
  plan.stdin_fd = devnull.get();
  plan.stdout_fd = out.write.valid() ? out.write.get() : devnull.get();
  plan.stderr_fd = err.write.valid() ? err.write.get() : devnull.get();
  plan.error_fd = exec_error.write.get();

  // Block every signal across fork() so none of the agent's handlers runs in
  // the child before it has reset them to their defaults.
  sigset_t all, previous;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(plan);
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) throw_errno(fork_errno, cannot_start(name) + ": fork");

  // Our copies of the child's ends must go, or EOF would never arrive.
  exec_error.write.reset();
  out.write.reset();
  err.write.reset();
  devnull.reset();

  // EOF here means execve() succeeded (the CLOEXEC write end closed); a record
  // means the child failed before exec and has _exit()ed. Either way setpgid
  // has run, so kill_group() is safe from the moment spawn() returns.
  ExecFailure failure{};
  std::size_t got = 0;
  while (got < sizeof failure) {
    const ssize_t n = ::read(exec_error.read.get(), reinterpret_cast<char*>(&failure) + got,
                             sizeof failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > 0) {
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    throw_errno(got == sizeof failure ? failure.error : EIO, failure_message(name, plan, failure));
  }

  Child child;
  child.pid_ = pid;
  child.stdout_fd_ = out.read.release();
  child.stderr_fd_ = err.read.release();
  return child;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      stderr_fd_(std::exchange(other.stderr_fd_, -1)),
      status_(std::exchange(other.status_, std::nullopt)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = std::exchange(other.pid_, -1);
    stdout_fd_ = std::exchange(other.stdout_fd_, -1);
    stderr_fd_ = std::exchange(other.stderr_fd_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

Child::~Child() {
  reset();
}

void Child::reset() noexcept {
  if (pid_ > 0 && !status_) {
    kill_group(SIGKILL);
    wait();
  }
  close_stdout();
  close_stderr();
  pid_ = -1;
  status_.reset();
}

void Child::close_stdout() {
  UniqueFd(std::exchange(stdout_fd_, -1));
}
void Child::close_stderr() {
  UniqueFd(std::exchange(stderr_fd_, -1));
}

void Child::kill_group(int sig) noexcept {
  // Once reaped, the pid (and so the group id) may belong to someone else.
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

bool Child::has_terminated() {
  if (status_) return true;
  if (pid_ <= 0) return false;
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return try_wait().has_value();  // ECHILD: someone else reaped it
  return info.si_pid == pid_;
}

std::optional<ExitStatus> Child::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int raw = 0;
  pid_t done;
  do {
    done = ::waitpid(pid_, &raw, WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == pid_) {
    status_ = decode(raw);
  } else if (done < 0) {
    status_ = ExitStatus{};  // ECHILD: reaped elsewhere (SIGCHLD ignored); status unknown
  }
  return status_;
}

ExitStatus Child::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  int raw = 0;
  pid_t done;
  do {
    done = ::waitpid(pid_, &raw, 0);
  } while (done < 0 && errno == EINTR);
  status_ = done == pid_ ? decode(raw) : ExitStatus{};
  return *status_;
}

}  // namespace backupy::process
