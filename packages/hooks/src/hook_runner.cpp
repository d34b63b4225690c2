#include "backupy/hooks/hook_runner.hpp"

#include <system_error>

#include "backupy/core/quote.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/process/output_tail.hpp"
#include "backupy/process/pump.hpp"

namespace backupy::hooks {
namespace {

using Clock = std::chrono::steady_clock;

// "300 s", "0.3 s", "1.25 s": the configured timeout as an operator wrote it.
std::string seconds_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  std::string text = std::to_string(ms / 1000);
  if (const auto fraction = ms % 1000; fraction != 0) {
    std::string digits = std::to_string(1000 + fraction).substr(1);  // zero-padded to 3
    while (digits.back() == '0') digits.pop_back();
    text += "." + digits;
  }
  return text + " s";
}

// A tail as part of one log line: secrets scrubbed, lines joined with " | ",
// other control bytes escaped.
std::string one_line(const std::string& tail) {
  const std::string clean = core::redact(tail);
  std::string out;
  std::size_t start = 0;
  while (start <= clean.size()) {
    std::size_t end = clean.find('\n', start);
    if (end == std::string::npos) end = clean.size();
    std::string_view line = std::string_view(clean).substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      if (!out.empty()) out += " | ";
      out += core::escape_for_message(line);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

const char* phase_name(Phase phase) {
  return phase == Phase::pre ? "pre" : "post";
}

std::vector<std::string> hook_environment(Phase phase, const HookContext& context,
                                          const std::optional<RunOutcome>& outcome,
                                          const HookOptions& options) {
  // Built from scratch: nothing of the agent's own environment (agent key,
  // PGPASSWORD, proxy credentials) can reach operator scripts.
  std::vector<std::string> env = {
      "PATH=" + options.path,
      "HOME=" + options.home,
      "LANG=C.UTF-8",
      "TZ=UTC",  // timestamps in hook output line up with the agent's (UTC) logs
      "BACKUPY_JOB_ID=" + context.job_id,
      "BACKUPY_RUN_ID=" + context.run_id,
      "BACKUPY_TARGET_ID=" + context.target_id,
      "BACKUPY_DB_TYPE=" + context.db_type,
      std::string("BACKUPY_HOOK_PHASE=") + phase_name(phase),
  };
  // A pre hook never sees an outcome, even if the caller passed one.
  if (phase == Phase::post && outcome) {
    env.push_back("BACKUPY_RUN_STATUS=" + outcome->status);
    env.push_back("BACKUPY_SIZE_BYTES=" + std::to_string(outcome->size_bytes));
    env.push_back("BACKUPY_SHA256=" + outcome->sha256);
  }
  return env;
}

HookResult run_hook(const std::string& command, Phase phase, const HookContext& context,
                    const std::optional<RunOutcome>& outcome, const HookOptions& options,
                    std::stop_token stop) {
  HookResult result;
  result.command = command;
  result.phase = phase;
  result.timeout = options.timeout;
  const auto start = Clock::now();

  process::SpawnOptions spawn;
  spawn.argv = {options.shell, "-c", command};
  spawn.env = hook_environment(phase, context, outcome, options);
  spawn.cwd = options.home;
  process::OutputTail out(options.tail_bytes);
  process::OutputTail err(options.tail_bytes);
  process::PumpOptions pump_options;
  pump_options.timeout = options.timeout;
  pump_options.kill_grace = options.kill_grace;
  pump_options.on_stdout = [&out](std::span<const char> bytes) { out.append(bytes); };
  pump_options.on_stderr = [&err](std::span<const char> bytes) { err.append(bytes); };

  try {
    process::Child child = process::Child::spawn(spawn);
    const process::PumpResult pumped = process::pump(child, pump_options, std::move(stop));
    result.status = pumped.status;
    result.timed_out = pumped.ending == process::PumpResult::Ending::timed_out;
    result.stopped = pumped.ending == process::PumpResult::Ending::stopped;
  } catch (const std::system_error& error) {
    // Spawn failures (missing shell, fd exhaustion) and pump's own I/O errors
    // are the hook's failure, not the caller's exception.
    result.start_error = error.what();
  }
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  // Tails go to LogEvents and run errors: scrub what an operator's script printed.
  result.stdout_tail = core::redact(out.text());
  result.stderr_tail = core::redact(err.text());
  return result;
}

std::string HookResult::describe() const {
  std::string text =
      std::string(phase_name(phase)) + " hook " + core::quoted(core::redact(command));
  if (!start_error.empty()) return text + " could not start: " + core::redact(start_error);
  if (stopped) return text + " cancelled";
  // A failing script usually explains itself on stderr; some only use stdout.
  const std::string& tail = stderr_tail.empty() ? stdout_tail : stderr_tail;
  const std::string detail = tail.empty() ? std::string() : ": " + one_line(tail);
  if (timed_out) return text + " timed out after " + seconds_text(timeout) + detail;
  if (status.success()) return text + " succeeded";
  return text + " failed: " + status.describe() + detail;
}

}  // namespace backupy::hooks
