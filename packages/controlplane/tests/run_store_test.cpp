#include "run_store.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace backupy::controlplane::detail {
namespace {

backup::v1::JobUpdate job_update(const std::string& run_id, backup::v1::JobStatus status) {
  backup::v1::JobUpdate update;
  update.set_job_id("nightly");
  update.set_run_id(run_id);
  update.set_status(status);
  update.set_progress_percent(40);
  update.set_current_step("dumping");
  return update;
}

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
  EXPECT_EQ(run.status, RunStatus::success);
  EXPECT_TRUE(run.completed);
  EXPECT_EQ(run.size_bytes, 1234u);
  EXPECT_EQ(run.sha256, std::string(64, 'c'));
  EXPECT_EQ(run.compression, "zstd");
  EXPECT_EQ(run.db_engine_version, "PostgreSQL 15.4");
  EXPECT_EQ(run.progress_percent, 100u);
  EXPECT_EQ(run.updates, 3u);
}

TEST(RunStoreTest, MapsEveryJobStatus) {
  RunStore runs;
  RunRecord& run = runs.create("nightly", "agent-1");
  const std::vector<std::pair<backup::v1::JobStatus, std::string_view>> cases = {
      {backup::v1::QUEUED, "queued"},
      {backup::v1::RUNNING, "running"},
      {backup::v1::FAILED, "failed"},
      {backup::v1::CANCELLED, "cancelled"},
      {backup::v1::SUCCESS, "success"}};
  for (const auto& [status, name] : cases) {
    backup::v1::JobUpdate update = job_update(run.run_id, status);
    update.set_error_message(name == "failed" ? "boom" : "");
    runs.apply("agent-1", update);
    EXPECT_EQ(to_string(run.status), name);
  }
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
