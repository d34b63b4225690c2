// The start-up decision over the update state: every branch, without exec'ing anything.
#include "backupy/selfupdate/start_plan.hpp"

#include <gtest/gtest.h>

#include <set>

namespace backupy::selfupdate {
namespace {

const std::filesystem::path kBase = "/usr/local/bin/backupy-agent";
const std::filesystem::path kBin = "/var/lib/backupy/update/bin";
const std::filesystem::path kV2 = kBin / "backupy-agent-0.2.0";
const std::filesystem::path kV3 = kBin / "backupy-agent-0.3.0";

UpdateState state(Phase phase, std::string version, std::filesystem::path binary,
                  std::filesystem::path previous, std::string previous_version = "0.1.0") {
  UpdateState s;
  s.phase = phase;
  s.version = std::move(version);
  s.binary = std::move(binary);
  s.previous_binary = std::move(previous);
  s.previous_version = std::move(previous_version);
  s.trial_id = "5eed";
  s.deadline_ms = 5000;
  return s;
}

struct Facts {
  std::optional<UpdateState> state;
  std::filesystem::path self = kBase;
  std::string self_version = "0.1.0";
  std::optional<std::string> trial_env;
  std::set<std::filesystem::path> runnable = {kBase, kV2, kV3};

  StartPlan plan() const {
    return plan_start(
        {.state = state,
         .self = self,
         .self_version = self_version,
         .trial_env = trial_env,
         .now_ms = 9000,
         .runnable = [this](const std::filesystem::path& p) { return runnable.count(p) > 0; }});
  }
};

TEST(StartPlan, NoStateRunsThisBinary) {
  const StartPlan plan = Facts{}.plan();
  EXPECT_EQ(plan.action, StartPlan::Action::run);
  EXPECT_FALSE(plan.save);
  EXPECT_FALSE(plan.clear_state);
  EXPECT_TRUE(plan.note.empty());
}

TEST(StartPlan, TheCandidatesOwnStartIsItsTrial) {
  Facts facts{.state = state(Phase::trial, "0.3.0", kV3, kBase),
              .self = kV3,
              .self_version = "0.3.0",
              .trial_env = "5eed"};
  const StartPlan plan = facts.plan();
  EXPECT_EQ(plan.action, StartPlan::Action::run_trial);
  EXPECT_FALSE(plan.save);
  EXPECT_FALSE(plan.clear_state);
}

TEST(StartPlan, ARestartWithoutTheTrialIdMeansTheCandidateDiedAndRollsBack) {
  for (const std::optional<std::string>& env : {std::optional<std::string>{}, {"other"}}) {
    Facts facts{.state = state(Phase::trial, "0.3.0", kV3, kV2, "0.2.0"), .trial_env = env};
    const StartPlan plan = facts.plan();
    ASSERT_TRUE(plan.save);
    EXPECT_EQ(plan.save->phase, Phase::rolled_back);
    EXPECT_EQ(plan.save->reason, "version 0.3.0 stopped before it was confirmed healthy");
    EXPECT_FALSE(plan.save->reported);
    EXPECT_EQ(plan.save->changed_at_ms, 9000u);
    EXPECT_EQ(plan.note_level, core::LogLevel::error);
    // The base binary was restarted by the supervisor; the previous binary was update 0.2.0.
    EXPECT_EQ(plan.action, StartPlan::Action::exec);
    EXPECT_EQ(plan.exec_binary, kV2);
  }
}

TEST(StartPlan, ARollbackToTheRunningBinaryJustRuns) {
  Facts facts{.state = state(Phase::trial, "0.3.0", kV3, kBase)};
  const StartPlan plan = facts.plan();
  ASSERT_TRUE(plan.save);
  EXPECT_EQ(plan.save->phase, Phase::rolled_back);
  EXPECT_EQ(plan.action, StartPlan::Action::run);
}

TEST(StartPlan, APreviousBinaryThatIsGoneIsNotExeced) {
  Facts facts{.state = state(Phase::trial, "0.3.0", kV3, kV2, "0.2.0")};
  facts.runnable.erase(kV2);
  const StartPlan plan = facts.plan();
  ASSERT_TRUE(plan.save);
  EXPECT_EQ(plan.action, StartPlan::Action::run);
}

TEST(StartPlan, AConfirmedUpdateRunsItselfAndIsStartedByTheBase) {
  Facts running{
      .state = state(Phase::confirmed, "0.3.0", kV3, kBase), .self = kV3, .self_version = "0.3.0"};
  EXPECT_EQ(running.plan().action, StartPlan::Action::run);
  EXPECT_TRUE(running.plan().note.empty());

  Facts base{.state = state(Phase::confirmed, "0.3.0", kV3, kBase)};
  const StartPlan plan = base.plan();
  EXPECT_EQ(plan.action, StartPlan::Action::exec);
  EXPECT_EQ(plan.exec_binary, kV3);
  EXPECT_FALSE(plan.save);
}

TEST(StartPlan, AnUpgradedBaseWinsOverAnOlderOrEqualInstalledUpdate) {
  for (const char* base_version : {"0.3.0", "0.4.0", "1.0.0"}) {
    Facts facts{.state = state(Phase::confirmed, "0.3.0", kV3, kBase),
                .self_version = base_version};
    const StartPlan plan = facts.plan();
    EXPECT_EQ(plan.action, StartPlan::Action::run) << base_version;
    EXPECT_TRUE(plan.clear_state) << base_version;
    EXPECT_NE(plan.note.find("is not older than the installed update 0.3.0"), std::string::npos);
  }
  Facts prerelease{.state = state(Phase::confirmed, "0.3.0", kV3, kBase),
                   .self_version = "0.3.0-rc.1"};
  EXPECT_EQ(prerelease.plan().action, StartPlan::Action::exec);
}

TEST(StartPlan, AConfirmedUpdateThatIsGoneIsForgotten) {
  Facts facts{.state = state(Phase::confirmed, "0.3.0", kV3, kBase)};
  facts.runnable.erase(kV3);
  const StartPlan plan = facts.plan();
  EXPECT_EQ(plan.action, StartPlan::Action::run);
  EXPECT_TRUE(plan.clear_state);
  EXPECT_EQ(plan.note_level, core::LogLevel::warn);
}

TEST(StartPlan, ARolledBackStateGoesBackToThePreviousBinary) {
  Facts on_previous{.state = state(Phase::rolled_back, "0.3.0", kV3, kBase)};
  EXPECT_EQ(on_previous.plan().action, StartPlan::Action::run);
  EXPECT_FALSE(on_previous.plan().save);

  Facts base_restarted{.state = state(Phase::rolled_back, "0.3.0", kV3, kV2, "0.2.0")};
  const StartPlan plan = base_restarted.plan();
  EXPECT_EQ(plan.action, StartPlan::Action::exec);
  EXPECT_EQ(plan.exec_binary, kV2);
}

TEST(StartPlan, AfterTheReportAnInstalledPreviousBecomesTheConfirmedUpdate) {
  const auto back_to_update = after_rollback_reported(
      rolled_back(state(Phase::trial, "0.3.0", kV3, kV2, "0.2.0"), "why", 1), kBin, 7);
  ASSERT_TRUE(back_to_update);
  EXPECT_EQ(back_to_update->phase, Phase::confirmed);
  EXPECT_EQ(back_to_update->version, "0.2.0");
  EXPECT_EQ(back_to_update->binary, kV2);
  EXPECT_EQ(back_to_update->changed_at_ms, 7u);

  EXPECT_FALSE(after_rollback_reported(
      rolled_back(state(Phase::trial, "0.3.0", kV3, kBase), "why", 1), kBin, 7));
}

}  // namespace
}  // namespace backupy::selfupdate
