#include "backupy/process/child.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "process_test_helpers.hpp"

namespace backupy::process {
namespace {

using testing::base_env;
using testing::command;
using testing::eventually;
using testing::expect_spawn_error;
using testing::process_gone;
using testing::read_line;
using testing::run_collect;
using testing::sh;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "backupy-proc-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void write_script(const std::filesystem::path& path, const std::string& body, mode_t mode) {
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  std::filesystem::permissions(path, static_cast<std::filesystem::perms>(mode));
}

TEST(ChildTest, ReportsTheExitCode) {
  Child child = Child::spawn(sh("exit 3"));
  const ExitStatus status = child.wait();
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.signal, 0);
  EXPECT_FALSE(status.success());
  EXPECT_EQ(status.describe(), "exit code 3");
  EXPECT_TRUE(child.exited());
}

TEST(ChildTest, DescribesDeathBySignal) {
  Child child = Child::spawn(sh("kill -KILL $$"));
  const ExitStatus status = child.wait();
  EXPECT_EQ(status.code, -1);
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_EQ(status.describe(), "killed by signal 9 (SIGKILL)");
}

TEST(ChildTest, MissingProgramThrowsNamingIt) {
  const SpawnOptions options = command({"backupy-no-such-program"});
  expect_spawn_error(options, [&](const std::system_error& error) {
    EXPECT_EQ(error.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(error.what()).find("\"backupy-no-such-program\""), std::string::npos)
        << error.what();
  });
}

TEST(ChildTest, ExecFailureOfAnAbsolutePathIsAnExceptionNotExitCode127) {
  const SpawnOptions options = command({"/nonexistent/backupy/tool", "--flag"});
  expect_spawn_error(options, [&](const std::system_error& error) {
    EXPECT_EQ(error.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(error.what()).find("/nonexistent/backupy/tool"), std::string::npos);
  });
}

TEST(ChildTest, NonExecutableFileThrowsPermissionDenied) {
  TempDir dir;
  write_script(dir.path() / "tool", "exit 0", 0644);
  const SpawnOptions options = command({(dir.path() / "tool").string()});
  expect_spawn_error(options, [&](const std::system_error& error) {
    EXPECT_EQ(error.code(), std::errc::permission_denied) << error.what();
  });
}

TEST(ChildTest, MissingWorkingDirectoryIsNamed) {
  SpawnOptions options = sh("exit 0");
  options.cwd = "/nonexistent/backupy-dir";
  expect_spawn_error(options, [&](const std::system_error& error) {
    const std::string what = error.what();
    EXPECT_NE(what.find("\"/bin/sh\""), std::string::npos) << what;
    EXPECT_NE(what.find("/nonexistent/backupy-dir"), std::string::npos) << what;
  });
}

TEST(ChildTest, RunsInTheGivenWorkingDirectory) {
  TempDir dir;
  SpawnOptions options = sh("pwd");
  options.cwd = dir.path();
  const auto run = run_collect(options);
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.out, dir.path().string() + "\n");
}

TEST(ChildTest, EnvironmentIsExactlyTheGivenOne) {
  ::setenv("BACKUPY_TEST_SENTINEL", "must-not-leak", 1);
  SpawnOptions options;
  options.argv = {"/usr/bin/env"};
  options.env = {"ONLY=1", "SECOND=two words", "EMPTY="};
  const auto run = run_collect(options);
  ::unsetenv("BACKUPY_TEST_SENTINEL");
  ASSERT_TRUE(run.result.ok()) << run.err;
  EXPECT_EQ(lines_of(run.out), (std::vector<std::string>{"ONLY=1", "SECOND=two words", "EMPTY="}));
}

TEST(ChildTest, ProgramIsSearchedInTheChildsPathNotTheAgents) {
  TempDir dir;
  write_script(dir.path() / "backupy-test-tool", "echo found", 0755);
  SpawnOptions options;
  options.argv = {"backupy-test-tool"};
  options.env = {"PATH=/nonexistent::" + dir.path().string()};
  const auto run = run_collect(options);
  EXPECT_EQ(run.out, "found\n");

  ASSERT_TRUE(find_program("sh", base_env()).has_value());
  EXPECT_FALSE(find_program("sh", {"HOME=/"}).has_value());  // no PATH: nothing is found
  EXPECT_EQ(find_program("./relative", {}), std::filesystem::path("./relative"));
}

TEST(ChildTest, StdinIsDevNull) {
  const auto run = run_collect(sh("cat; echo done"));
  EXPECT_EQ(run.out, "done\n");
}

TEST(ChildTest, NoDescriptorLeaksIntoTheChild) {
  // Opened without O_CLOEXEC, as a careless library would.
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 0);
  ASSERT_EQ(::dup2(leaked, 50), 50);
  const SpawnOptions options = command({"/bin/ls", "/proc/self/fd"});
  const auto run = run_collect(options);
  ::close(50);
  ::close(leaked);
  ASSERT_TRUE(run.result.ok()) << run.err;
  // ls itself holds one descriptor (3) for the directory it lists.
  std::set<std::string> fds;
  for (const auto& line : lines_of(run.out)) fds.insert(line);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"}));
}

TEST(ChildTest, IgnoredAndBlockedSignalsAreResetInTheChild) {
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  sigset_t block, old_mask;
  ::sigemptyset(&block);
  ::sigaddset(&block, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  const SpawnOptions options = command({"/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"});
  const auto run = run_collect(options);

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_EQ(run.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST(ChildTest, ChildLeadsItsOwnProcessGroup) {
  const SpawnOptions options = command({"sleep", "1000"});
  Child child = Child::spawn(options);
  EXPECT_EQ(::getpgid(child.pid()), child.pid());
  EXPECT_NE(::getpgid(child.pid()), ::getpgrp());
  EXPECT_FALSE(child.try_wait().has_value());
  EXPECT_FALSE(child.has_terminated());
}

TEST(ChildTest, KillGroupKillsGrandchildren) {
  Child child = Child::spawn(sh("sleep 1000 & echo $!; wait"));
  const pid_t grandchild = std::stoi(read_line(child.stdout_fd()));
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(process_gone(grandchild));
  child.kill_group(SIGKILL);
  EXPECT_EQ(child.wait().signal, SIGKILL);
  EXPECT_TRUE(eventually([&] { return process_gone(grandchild); }));
  child.kill_group(SIGKILL);  // after reaping: a no-op, not a stray signal
}

TEST(ChildTest, HasTerminatedDoesNotReap) {
  Child child = Child::spawn(sh("exit 4"));
  ASSERT_TRUE(eventually([&] { return child.has_terminated(); }));
  EXPECT_FALSE(child.exited());
  // Still a zombie, so the pid (our process group id) is still reserved.
  EXPECT_EQ(::getpgid(child.pid()), child.pid());
  EXPECT_EQ(child.try_wait()->code, 4);
  EXPECT_TRUE(child.exited());
}

TEST(ChildTest, DestructorKillsAndReapsARunningChildAndItsGroup) {
  pid_t pid = -1;
  pid_t grandchild = -1;
  {
    Child child = Child::spawn(sh("sleep 1000 & echo $!; wait"));
    pid = child.pid();
    grandchild = std::stoi(read_line(child.stdout_fd()));
  }
  int raw = 0;
  EXPECT_EQ(::waitpid(pid, &raw, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);  // reaped: no zombie left behind
  EXPECT_TRUE(eventually([&] { return process_gone(grandchild); }));
}

TEST(ChildTest, MoveTransfersOwnership) {
  Child first = Child::spawn(sh("exec sleep 1000"));
  const pid_t pid = first.pid();
  Child second = std::move(first);
  EXPECT_EQ(first.pid(), -1);  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(first.stdout_fd(), -1);
  EXPECT_EQ(second.pid(), pid);

  second = Child::spawn(sh("exit 0"));  // the sleeping one is killed and reaped
  int raw = 0;
  EXPECT_EQ(::waitpid(pid, &raw, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(second.wait().success());
}

TEST(ChildTest, UncapturedOutputGoesToDevNull) {
  SpawnOptions options = sh("echo out; echo err >&2");
  options.capture_stdout = false;
  options.capture_stderr = false;
  Child child = Child::spawn(options);
  EXPECT_EQ(child.stdout_fd(), -1);
  EXPECT_EQ(child.stderr_fd(), -1);
  EXPECT_TRUE(child.wait().success());
}

TEST(ChildTest, EmptyArgvIsRejected) {
  EXPECT_THROW(Child::spawn(SpawnOptions{}), std::invalid_argument);
}

}  // namespace
}  // namespace backupy::process
