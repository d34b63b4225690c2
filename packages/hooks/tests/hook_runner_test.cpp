#include "backupy/hooks/hook_runner.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "backupy/core/redactor.hpp"

namespace backupy::hooks {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const HookContext kContext{"job-1", "run-2", "target-3", "postgresql"};
const RunOutcome kOutcome{"success", 12345, "ab12cd"};

HookOptions fast_options() {
  HookOptions options;
  options.timeout = 10s;
  options.kill_grace = 500ms;
  return options;
}

std::vector<std::string> lines_of(const std::string& text, char separator = '\n') {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line, separator);) lines.push_back(line);
  return lines;
}

std::set<std::string> names_of(const std::vector<std::string>& env) {
  std::set<std::string> names;
  for (const auto& entry : env) names.insert(entry.substr(0, entry.find('=')));
  return names;
}

// The environment the shell was exec'd with (dash adds PWD for its children,
// so `env` would not show exactly what we passed).
HookResult run_printing_environment(Phase phase, const std::optional<RunOutcome>& outcome) {
  return run_hook("tr '\\0' '\\n' < /proc/$$/environ", phase, kContext, outcome, fast_options());
}

// Live (non-zombie) members of a process group, from /proc.
std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> members;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string state;
    pid_t ppid = 0, pgrp = 0;
    fields >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != "Z") members.push_back(std::stoi(name));
  }
  return members;
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  const auto deadline = Clock::now() + 3s;
  while (!predicate()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST(HookRunnerTest, PreHookEnvironmentIsExactlyTheDocumentedOne) {
  const HookOptions options = fast_options();
  const auto env = hook_environment(Phase::pre, kContext, kOutcome, options);
  EXPECT_EQ(names_of(env),
            (std::set<std::string>{"PATH", "HOME", "LANG", "TZ", "BACKUPY_JOB_ID", "BACKUPY_RUN_ID",
                                   "BACKUPY_TARGET_ID", "BACKUPY_DB_TYPE", "BACKUPY_HOOK_PHASE"}));

  const HookResult result = run_printing_environment(Phase::pre, kOutcome);
  ASSERT_TRUE(result.ok()) << result.describe();
  auto seen = lines_of(result.stdout_tail);
  auto expected = env;
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
  EXPECT_NE(std::find(seen.begin(), seen.end(), "BACKUPY_HOOK_PHASE=pre"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "BACKUPY_JOB_ID=job-1"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "BACKUPY_DB_TYPE=postgresql"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "PATH=" + options.path), seen.end());
}

TEST(HookRunnerTest, PostHookLearnsTheOutcome) {
  const HookResult result = run_printing_environment(Phase::post, kOutcome);
  ASSERT_TRUE(result.ok()) << result.describe();
  const auto seen = lines_of(result.stdout_tail);
  for (const std::string expected :
       {"BACKUPY_HOOK_PHASE=post", "BACKUPY_RUN_STATUS=success", "BACKUPY_SIZE_BYTES=12345",
        "BACKUPY_SHA256=ab12cd", "BACKUPY_RUN_ID=run-2", "BACKUPY_TARGET_ID=target-3"}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), expected), seen.end()) << expected;
  }
  EXPECT_EQ(seen.size(), 12u) << result.stdout_tail;
}

TEST(HookRunnerTest, PostHookWithoutABlobGetsAnEmptyChecksum) {
  const auto env = hook_environment(Phase::post, kContext, RunOutcome{"failed", 0, ""}, {});
  EXPECT_NE(std::find(env.begin(), env.end(), "BACKUPY_SHA256="), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "BACKUPY_RUN_STATUS=failed"), env.end());
}

TEST(HookRunnerTest, AgentSecretsDoNotReachTheHook) {
  ::setenv("BACKUPY_AGENT_KEY", "agent-key-sentinel", 1);
  ::setenv("PGPASSWORD", "pg-password-sentinel", 1);
  const HookResult result =
      run_hook("env; cat /proc/$$/environ", Phase::pre, kContext, std::nullopt, fast_options());
  ::unsetenv("BACKUPY_AGENT_KEY");
  ::unsetenv("PGPASSWORD");
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.stdout_tail.find("sentinel"), std::string::npos) << result.stdout_tail;
  EXPECT_EQ(result.stdout_tail.find("BACKUPY_AGENT_KEY"), std::string::npos);
  EXPECT_EQ(result.stdout_tail.find("PGPASSWORD"), std::string::npos);
}

TEST(HookRunnerTest, RunsInItsHome) {
  const HookResult result = run_hook("pwd", Phase::pre, kContext, std::nullopt, fast_options());
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.stdout_tail, "/tmp");
  EXPECT_EQ(result.describe(), "pre hook \"pwd\" succeeded");
}

TEST(HookRunnerTest, FailingHookDescribesExitCodeAndStderrTail) {
  const HookResult result = run_hook("echo progress; echo 'pg_isready: no response' >&2; exit 3",
                                     Phase::pre, kContext, std::nullopt, fast_options());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status.code, 3);
  EXPECT_EQ(result.stdout_tail, "progress");
  EXPECT_EQ(result.stderr_tail, "pg_isready: no response");
  EXPECT_EQ(result.describe(),
            "pre hook \"echo progress; echo 'pg_isready: no response' >&2; exit 3\" failed: "
            "exit code 3: pg_isready: no response");
}

TEST(HookRunnerTest, MultiLineOutputStaysOneLine) {
  const HookResult result = run_hook("printf 'one\\n\\ntwo\\tx\\n' >&2; exit 1", Phase::post,
                                     kContext, kOutcome, fast_options());
  const std::string line = result.describe();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("post hook"), std::string::npos);
  EXPECT_NE(line.find("failed: exit code 1: one | two\\x09x"), std::string::npos) << line;
}

TEST(HookRunnerTest, TimeoutKillsTheWholeProcessGroup) {
  HookOptions options = fast_options();
  options.timeout = 300ms;
  options.kill_grace = 300ms;
  const auto start = Clock::now();
  const HookResult result = run_hook("echo $$; sleep 1000 & echo $!; sleep 1000", Phase::pre,
                                     kContext, std::nullopt, options);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(result.timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.describe().rfind("pre hook \"echo $$; sleep 1000 & echo $!; sleep 1000\" "
                                    "timed out after 0.3 s",
                                    0),
            0u)
      << result.describe();
  const auto pids = lines_of(result.stdout_tail);
  ASSERT_EQ(pids.size(), 2u) << result.stdout_tail;
  const pid_t shell = std::stoi(pids[0]);  // the group leader: its pid is the group id
  const pid_t background = std::stoi(pids[1]);
  EXPECT_GT(background, 0);
  // Both sleeps (foreground and background) were in the shell's group.
  EXPECT_TRUE(eventually([&] { return group_members(shell).empty(); }));
}

TEST(HookRunnerTest, StopTokenStopsTheHook) {
  const std::filesystem::path fifo =
      std::filesystem::temp_directory_path() / ("backupy-hook-fifo-" + std::to_string(::getpid()));
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::stop_source stop;
  // Stop once the hook is demonstrably running: it opens the FIFO for writing,
  // which unblocks our open() for reading.
  std::jthread stopper([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    char byte;
    [[maybe_unused]] const ssize_t n = ::read(fd, &byte, 1);
    ::close(fd);
    stop.request_stop();
  });
  const HookResult result = run_hook("echo > " + fifo.string() + "; sleep 1000", Phase::pre,
                                     kContext, std::nullopt, fast_options(), stop.get_token());
  // Should the hook never have opened the FIFO, release the stopper anyway.
  if (const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK); fd >= 0) ::close(fd);
  stopper.join();
  std::filesystem::remove(fifo);
  EXPECT_TRUE(result.stopped);
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.describe(), "pre hook \"echo > " + fifo.string() + "; sleep 1000\" cancelled");
}

TEST(HookRunnerTest, ShellThatCannotStartIsAFailedResult) {
  HookOptions options = fast_options();
  options.shell = "/nonexistent/sh";
  const HookResult result = run_hook("true", Phase::pre, kContext, std::nullopt, options);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status.code, -1);
  EXPECT_EQ(result.describe().rfind("pre hook \"true\" could not start: ", 0), 0u)
      << result.describe();
  EXPECT_NE(result.describe().find("/nonexistent/sh"), std::string::npos);
}

TEST(HookRunnerTest, SecretsAreRedactedFromTheDescription) {
  core::register_secret("hunter2-secret");
  const HookResult result =
      run_hook("echo 'login failed for hunter2-secret' >&2; exit 2 # hunter2-secret", Phase::pre,
               kContext, std::nullopt, fast_options());
  const std::string line = result.describe();
  core::forget_all_secrets();
  EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
  EXPECT_NE(line.find("[REDACTED]"), std::string::npos) << line;
  EXPECT_EQ(result.stderr_tail, "login failed for [REDACTED]");
}

TEST(HookRunnerTest, PhaseNames) {
  EXPECT_STREQ(phase_name(Phase::pre), "pre");
  EXPECT_STREQ(phase_name(Phase::post), "post");
}

}  // namespace
}  // namespace backupy::hooks
