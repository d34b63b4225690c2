#pragma once
// Pre/post backup hooks: operator-provided shell commands around a run.
//
// Decisions (docs/operations.md, "Hooks"):
//  - Hooks run only when the operator enabled them on this host
//    (BACKUPY_HOOKS=enabled); the run manager refuses jobs with hooks otherwise.
//    This package only executes.
//  - Each hook is `/bin/sh -c <command>` in its own process group, with a
//    per-hook timeout (default 5 min); on timeout or stop the whole group gets
//    SIGTERM, then SIGKILL after a grace.
//  - Environment: PATH, HOME, LANG, TZ (fixed, safe values; never the agent's
//    own environment) plus BACKUPY_JOB_ID, BACKUPY_RUN_ID, BACKUPY_TARGET_ID,
//    BACKUPY_DB_TYPE, BACKUPY_HOOK_PHASE and, for post hooks,
//    BACKUPY_RUN_STATUS, BACKUPY_SIZE_BYTES, BACKUPY_SHA256. Never the agent
//    key or a database password.
//  - stdout and stderr tails (4 KiB each) are captured for LogEvents and, for a
//    failing pre-hook, the run's error message.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "backupy/process/child.hpp"

namespace backupy::hooks {

enum class Phase { pre, post };
const char* phase_name(Phase phase);  // "pre" | "post"

struct HookContext {
  std::string job_id;
  std::string run_id;
  std::string target_id;
  std::string db_type;  // "postgresql" | "mysql" | "mariadb" | "mongodb" | "redis" | "sqlite"
};

// What a post hook learns about the run.
struct RunOutcome {
  std::string status;  // "success" | "failed" | "cancelled"
  std::uint64_t size_bytes = 0;
  std::string sha256;  // empty unless the run produced a blob
};

struct HookOptions {
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  std::size_t tail_bytes = 4096;
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::string home = "/tmp";  // the agent's HOME is not the hook's business
  std::string shell = "/bin/sh";
};

struct HookResult {
  std::string command;
  Phase phase = Phase::pre;
  process::ExitStatus status;
  bool timed_out = false;
  bool stopped = false;                  // cancelled/run timeout reached while the hook ran
  std::string start_error;               // non-empty when the shell could not be started
  std::chrono::milliseconds timeout{0};  // the per-hook timeout it ran with
  std::chrono::milliseconds duration{0};
  std::string stdout_tail;  // already redacted (core::redact)
  std::string stderr_tail;  // already redacted (core::redact)
  bool ok() const { return !timed_out && !stopped && start_error.empty() && status.success(); }
  // One line for errors and logs: `pre hook "cmd" failed: exit code 3: <stderr tail>`
  // (also "timed out after 300 s: <tail>", "could not start: ...", "cancelled",
  // "succeeded"). The stdout tail stands in when stderr is empty; tail lines
  // are joined with " | ". Command and tails go through core::redact, so a
  // registered secret typed into a command never reaches a log or the server.
  std::string describe() const;
};

// The exact environment a hook gets (exposed for tests and docs): LANG=C.UTF-8
// and TZ=UTC; the post-only variables only when phase is post and an outcome
// is given (BACKUPY_SHA256 is then present even when empty). Like cron, the
// hook runs in its HOME (HookOptions::home), never in the agent's state dir.
std::vector<std::string> hook_environment(Phase phase, const HookContext& context,
                                          const std::optional<RunOutcome>& outcome,
                                          const HookOptions& options);

// Runs one hook to completion on the calling thread. Never throws for the
// hook's own failures (a spawn failure is a failed HookResult with code -1).
HookResult run_hook(const std::string& command, Phase phase, const HookContext& context,
                    const std::optional<RunOutcome>& outcome, const HookOptions& options,
                    std::stop_token stop = {});

}  // namespace backupy::hooks
