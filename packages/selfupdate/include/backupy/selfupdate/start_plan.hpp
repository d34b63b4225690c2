#pragma once
// What `backupy-agent run` does with an installed update before anything else starts
// (docs/self-update.md, "Start-up"): a pure decision over the update state, so that every
// branch — trial boot, crashed candidate, image upgraded underneath, rollback — is unit-tested
// without exec'ing anything. The app applies the plan (save the state, prune, exec or run).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "backupy/core/log.hpp"
#include "backupy/selfupdate/update_state.hpp"

namespace backupy::selfupdate {

// The environment variable that marks the first start of a candidate binary. Its value is the
// trial id of the update state, so a stale or copied variable never passes for a trial boot.
inline constexpr const char* kTrialEnvVar = "BACKUPY_UPDATE_TRIAL";

struct StartFacts {
  std::optional<UpdateState> state;
  std::filesystem::path self;            // the running binary (/proc/self/exe)
  std::string self_version;              // its version
  std::optional<std::string> trial_env;  // the value of kTrialEnvVar, if set
  std::uint64_t now_ms = 0;
  // true when path names an executable file (the app checks access(X_OK)).
  std::function<bool(const std::filesystem::path&)> runnable;
};

struct StartPlan {
  enum class Action {
    run,        // run this binary normally
    run_trial,  // run this binary as a candidate on trial: confirm health by state->deadline_ms
    exec,       // replace this process with exec_binary (no trial)
  };
  Action action = Action::run;
  std::filesystem::path exec_binary;
  // The state to save before acting; with clear_state the state file goes instead.
  std::optional<UpdateState> save;
  bool clear_state = false;
  // What happened, for the log (empty: nothing worth a line).
  std::string note;
  core::LogLevel note_level = core::LogLevel::info;
};

StartPlan plan_start(const StartFacts& facts);

// The state after a rollback was reported upstream: an update that was itself installed and
// confirmed before (previous_binary under update_bin) becomes the confirmed update again, so a
// restart by the supervisor comes back to it; otherwise the state is cleared (nullopt).
std::optional<UpdateState> after_rollback_reported(const UpdateState& rolled_back,
                                                   const std::filesystem::path& update_bin,
                                                   std::uint64_t now_ms);

// The rolled-back state for a candidate that failed its trial.
UpdateState rolled_back(UpdateState state, std::string reason, std::uint64_t now_ms);

}  // namespace backupy::selfupdate
