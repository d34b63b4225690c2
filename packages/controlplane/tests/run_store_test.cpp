#include "run_store.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using testing::job_update;

TEST(RunStoreTest, CreatesQueuedRunsWithFreshIdsKeysAndObjectKeys) {
  RunStore runs;
  RunRecord& a = runs.create("nightly", "agent-1");
  RunRecord& b = runs.create("nightly", "agent-1");
  EXPECT_TRUE(std::regex_match(a.run_id, std::regex("run-[0-9a-f]{16}"))) << a.run_id;
  EXPECT_NE(a.run_id, b.run_id);
  EXPECT_EQ(a.s3_key, "agents/agent-1/nightly/" + a.run_id + ".bkpy");
  EXPECT_EQ(a.status, RunStatus::queued);
  EXPECT_EQ(a.updates, 0u);
  EXPECT_FALSE(std::equal(a.dek.bytes().begin(), a.dek.bytes().end(), b.dek.bytes().begin()));
  EXPECT_EQ(runs.find(a.run_id), &a);
  EXPECT_EQ(runs.find("run-unknown"), nullptr);
  EXPECT_EQ(runs.size(), 2u);
}

TEST(RunStoreTest, FollowsTheAgentsResults) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  ASSERT_EQ(runs.apply("agent-1", job_update(run.run_id, backup::v1::RUNNING)), &run);
  EXPECT_EQ(run.status, RunStatus::running);
  EXPECT_EQ(run.progress_percent, 40u);
  EXPECT_EQ(run.current_step, "dumping");

  backup::v1::JobUpdate progress = job_update(run.run_id, backup::v1::JOB_STATUS_UNSPECIFIED);
  progress.set_progress_percent(60);
  runs.apply("agent-1", progress);
  EXPECT_EQ(run.status, RunStatus::running);
  EXPECT_EQ(run.progress_percent, 60u);

  backup::v1::BackupCompleted completed;
  completed.set_run_id(run.run_id);
  completed.set_size_bytes(1234);
  completed.set_sha256(std::string(64, 'c'));
  completed.set_compression("zstd");
  completed.set_db_engine_version("PostgreSQL 15.4");
  ASSERT_EQ(runs.apply("agent-1", completed), &run);
  EXPECT_EQ(run.status, RunStatus::running);  // until the object was checked
  EXPECT_EQ(run.current_step, kVerifyingStep);
  EXPECT_TRUE(run.completed);
  EXPECT_EQ(runs.awaiting_verification(), std::vector<RunRecord*>{&run});
  EXPECT_EQ(run.size_bytes, 1234u);
  EXPECT_EQ(run.sha256, std::string(64, 'c'));
  EXPECT_EQ(run.compression, "zstd");
  EXPECT_EQ(run.db_engine_version, "PostgreSQL 15.4");
  EXPECT_EQ(run.progress_percent, 100u);
  EXPECT_EQ(run.updates, 3u);

  runs.confirm_object(run, "", 5000);
  EXPECT_EQ(run.status, RunStatus::success);
  EXPECT_EQ(run.finished_ms, 5000u);
  EXPECT_TRUE(runs.awaiting_verification().empty());
}

TEST(RunStoreTest, AnObjectThatDoesNotMatchFailsTheRun) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  runs.confirm_object(run, "too early", 1000);  // nothing reported yet: no effect
  EXPECT_EQ(run.status, RunStatus::queued);
  backup::v1::BackupCompleted completed;
  completed.set_run_id(run.run_id);
  completed.set_size_bytes(10);
  ASSERT_NE(runs.apply("agent-1", completed), nullptr);
  runs.confirm_object(run, "the stored object is 9 bytes, the agent reported 10", 2000);
  EXPECT_EQ(run.status, RunStatus::failed);
  EXPECT_EQ(run.error, "the stored object is 9 bytes, the agent reported 10");
  // A late SUCCESS update changes nothing; a resend starts over.
  EXPECT_EQ(runs.apply("agent-1", job_update(run.run_id, backup::v1::SUCCESS)), nullptr);
  runs.mark_sent(run, 3000);
  EXPECT_FALSE(run.completed);
  EXPECT_EQ(run.size_bytes, 0u);
}

TEST(RunStoreTest, MapsEveryJobStatus) {
  RunStore runs;
  const std::vector<std::pair<backup::v1::JobStatus, std::string_view>> cases = {
      {backup::v1::QUEUED, "queued"},
      {backup::v1::RUNNING, "running"},
      {backup::v1::FAILED, "failed"},
      {backup::v1::CANCELLED, "cancelled"},
      {backup::v1::SUCCESS, "running"}};  // success needs the object check
  for (const auto& [status, name] : cases) {
    RunRecord& run = runs.create("nightly", "agent-1");
    backup::v1::JobUpdate update = job_update(run.run_id, status);
    update.set_error_message(name == "failed" ? "boom" : "");
    ASSERT_NE(runs.apply("agent-1", update), nullptr);
    EXPECT_EQ(to_string(run.status), name);
    EXPECT_EQ(run.finished_ms != 0, is_finished(run.status)) << name;
  }
}

TEST(RunStoreTest, AFinishedRunTakesNoFurtherUpdatesAndOneCompletion) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  backup::v1::BackupCompleted completed;
  completed.set_run_id(run.run_id);
  completed.set_size_bytes(42);
  ASSERT_NE(runs.apply("agent-1", completed), nullptr);
  // The object check decides now: the agent's SUCCESS update that follows changes nothing.
  EXPECT_EQ(runs.apply("agent-1", job_update(run.run_id, backup::v1::SUCCESS)), nullptr);
  completed.set_size_bytes(43);
  EXPECT_EQ(runs.apply("agent-1", completed), nullptr);  // a replayed outbox entry
  runs.confirm_object(run, "", 1000);
  EXPECT_EQ(runs.apply("agent-1", job_update(run.run_id, backup::v1::RUNNING)), nullptr);
  EXPECT_EQ(runs.apply("agent-1", completed), nullptr);
  EXPECT_EQ(run.status, RunStatus::success);
  EXPECT_EQ(run.size_bytes, 42u);
  EXPECT_EQ(run.updates, 1u);
}

TEST(RunStoreTest, TracksDeliveryAndTheActiveRunOfAJob) {
  RunStore runs;
  RunRecord& first = runs.create("nightly", "agent-1", RunTrigger::scheduled);
  RunRecord& second = runs.create("weekly", "agent-1");
  runs.create("nightly", "agent-2");
  EXPECT_EQ(first.trigger, RunTrigger::scheduled);
  EXPECT_EQ(runs.active_run("nightly")->agent_id, "agent-2");  // the newest
  EXPECT_EQ(runs.undelivered("agent-1"), (std::vector<RunRecord*>{&first, &second}));

  runs.mark_sent(first, 1000);
  EXPECT_EQ(first.sent_ms, 1000u);
  EXPECT_EQ(runs.undelivered("agent-1"), std::vector<RunRecord*>{&second});

  runs.fail(second, "agent-1 stayed offline", 2000);
  EXPECT_EQ(second.status, RunStatus::failed);
  EXPECT_EQ(second.error, "agent-1 stayed offline");
  EXPECT_EQ(second.finished_ms, 2000u);
  EXPECT_TRUE(runs.undelivered("agent-1").empty());
  EXPECT_EQ(runs.active_run("weekly"), nullptr);

  // A resend restarts a failed run.
  runs.mark_sent(second, 3000);
  EXPECT_EQ(second.status, RunStatus::queued);
  EXPECT_TRUE(second.error.empty());
  EXPECT_EQ(second.finished_ms, 0u);
  EXPECT_EQ(runs.active_run("weekly"), &second);
}

TEST(RunStoreTest, IgnoresResultsForUnknownRunsAndOtherAgentsRuns) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  EXPECT_EQ(runs.apply("agent-2", job_update(run.run_id, backup::v1::FAILED)), nullptr);
  EXPECT_EQ(runs.apply("agent-1", job_update("run-other", backup::v1::FAILED)), nullptr);
  EXPECT_EQ(runs.apply("agent-1", job_update("", backup::v1::FAILED)), nullptr);
  EXPECT_EQ(run.status, RunStatus::queued);
  EXPECT_EQ(run.updates, 0u);
}

TEST(RunStoreTest, RemembersIdempotencyKeysUntilTheRunIsErased) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  const std::string run_id = run.run_id;
  EXPECT_EQ(runs.find_by_idempotency_key("k1"), nullptr);
  runs.remember_idempotency_key("k1", run_id);
  EXPECT_EQ(runs.find_by_idempotency_key("k1"), &run);
  runs.erase(run_id);
  EXPECT_EQ(runs.find(run_id), nullptr);
  EXPECT_EQ(runs.find_by_idempotency_key("k1"), nullptr);
}

}  // namespace
}  // namespace backupy::controlplane::detail
