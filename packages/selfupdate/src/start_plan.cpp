#include "backupy/selfupdate/start_plan.hpp"

#include "backupy/selfupdate/version.hpp"

namespace backupy::selfupdate {
namespace {

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  return a.lexically_normal() == b.lexically_normal();
}

// Back to the binary that installed the candidate, unless that is the one running.
StartPlan back_to_previous(StartPlan plan, const StartFacts& facts, const UpdateState& state) {
  if (!state.previous_binary.empty() && !same_file(state.previous_binary, facts.self) &&
      facts.runnable(state.previous_binary)) {
    plan.action = StartPlan::Action::exec;
    plan.exec_binary = state.previous_binary;
  }
  return plan;
}

StartPlan plan_trial(const StartFacts& facts, const UpdateState& state) {
  StartPlan plan;
  if (facts.trial_env && *facts.trial_env == state.trial_id) {
    plan.action = StartPlan::Action::run_trial;
    plan.note = "starting version " + state.version + " on trial";
    return plan;
  }
  // The candidate's own start would carry the trial id: this start is a supervisor's restart
  // after the candidate died (crash, kill, OOM) before it proved itself.
  plan.save = rolled_back(
      state, "version " + state.version + " stopped before it was confirmed healthy", facts.now_ms);
  plan.note = "self-update rolled back: " + plan.save->reason;
  plan.note_level = core::LogLevel::error;
  return back_to_previous(std::move(plan), facts, state);
}

StartPlan plan_confirmed(const StartFacts& facts, const UpdateState& state) {
  StartPlan plan;
  if (same_file(state.binary, facts.self)) return plan;
  if (!facts.runnable(state.binary)) {
    plan.clear_state = true;
    plan.note =
        "the installed update " + state.version + " is gone; running version " + facts.self_version;
    plan.note_level = core::LogLevel::warn;
    return plan;
  }
  // The base binary (the image's, the package's) was upgraded underneath: a newer or equal
  // base wins over an update installed earlier, which is then dropped.
  const auto order = compare_versions(facts.self_version, state.version);
  if (order && *order >= 0) {
    plan.clear_state = true;
    plan.note = "version " + facts.self_version + " is not older than the installed update " +
                state.version + ": the installed update is dropped";
    return plan;
  }
  plan.action = StartPlan::Action::exec;
  plan.exec_binary = state.binary;
  plan.note = "starting the installed update " + state.version;
  return plan;
}

}  // namespace

UpdateState rolled_back(UpdateState state, std::string reason, std::uint64_t now_ms) {
  state.phase = Phase::rolled_back;
  state.reason = std::move(reason);
  state.reported = false;
  state.changed_at_ms = now_ms;
  return state;
}

StartPlan plan_start(const StartFacts& facts) {
  if (!facts.state) return {};
  const UpdateState& state = *facts.state;
  switch (state.phase) {
    case Phase::trial: return plan_trial(facts, state);
    case Phase::confirmed: return plan_confirmed(facts, state);
    case Phase::rolled_back: return back_to_previous({}, facts, state);
  }
  return {};
}

std::optional<UpdateState> after_rollback_reported(const UpdateState& rolled_back,
                                                   const std::filesystem::path& update_bin,
                                                   std::uint64_t now_ms) {
  if (rolled_back.previous_binary.parent_path().lexically_normal() !=
      update_bin.lexically_normal()) {
    return std::nullopt;
  }
  UpdateState state;
  state.phase = Phase::confirmed;
  state.version = rolled_back.previous_version;
  state.binary = rolled_back.previous_binary;
  state.changed_at_ms = now_ms;
  return state;
}

}  // namespace backupy::selfupdate
