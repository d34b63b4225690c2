// Object verification and retention (storage_maintenance.hpp) against the embedded store, with
// the background thread real and its completions run by the test as the server thread would.
#include "storage_maintenance.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "catalog.hpp"
#include "server_state.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::uint64_t kDayMs = kMsPerDay;

class StorageMaintenanceTest : public ::testing::Test {
 protected:
  StorageMaintenanceTest() {
    ServerConfig config;
    StorageConfig storage;
    storage.type = StorageType::local;
    storage.dir = dir_.path();
    config.storage = storage;
    AgentEntry agent;
    agent.id = "agent-1";
    auto* kept = agent.config.add_jobs();
    kept->set_id("nightly");
    kept->set_retention_days(7);
    agent.config.add_jobs()->set_id("forever");  // retention_days 0
    config.agents.push_back(agent);
    state_.config = std::make_shared<const ServerConfig>(std::move(config));
    state_.generated_signing_key.assign(32, 7);
    state_.default_public_url = "https://127.0.0.1:8443";
    state_.background = &worker_;
  }

  // Runs the next completion the background thread handed to the "server thread".
  void run_next_completion() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      BackgroundWorker::Task task;
      {
        const std::lock_guard lock(mutex_);
        if (!completions_.empty()) {
          task = std::move(completions_.front());
          completions_.pop_front();
        }
      }
      if (task) return task();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "the background thread did not finish in time";
  }

  // A run of job that reported an object of reported_bytes; the store holds stored_bytes of it
  // (none if negative).
  RunRecord& completed_run(const std::string& job, std::uint64_t reported_bytes, int stored_bytes) {
    RunRecord& run = state_.runs.create(job, "agent-1");
    state_.runs.mark_sent(run, 1);
    backup::v1::BackupCompleted completed;
    completed.set_run_id(run.run_id);
    completed.set_size_bytes(reported_bytes);
    EXPECT_NE(state_.runs.apply("agent-1", completed), nullptr);
    if (stored_bytes >= 0) {
      std::filesystem::create_directories(object(run).parent_path());
      testing::write_text(object(run), std::string(static_cast<std::size_t>(stored_bytes), 'x'));
    }
    return run;
  }

  std::filesystem::path object(const RunRecord& run) const { return dir_.path() / run.s3_key; }

  void verify(const RunRecord& run) {
    verify_stored_object(state_, run);
    run_next_completion();
  }

  testing::TempDir dir_;
  ServerState state_;
  std::mutex mutex_;
  std::deque<BackgroundWorker::Task> completions_;
  BackgroundWorker worker_{[this](BackgroundWorker::Task task) {
    const std::lock_guard lock(mutex_);
    completions_.push_back(std::move(task));
  }};
};

TEST_F(StorageMaintenanceTest, ARunSucceedsOnlyWhenItsObjectHasTheReportedSize) {
  RunRecord& good = completed_run("nightly", 10, 10);
  RunRecord& short_object = completed_run("nightly", 10, 9);
  RunRecord& missing = completed_run("nightly", 10, -1);
  verify(good);
  verify(short_object);
  verify(missing);
  EXPECT_EQ(good.status, RunStatus::success);
  EXPECT_EQ(short_object.status, RunStatus::failed);
  EXPECT_EQ(short_object.error,
            "the stored object " + short_object.s3_key + " is 9 bytes, the agent reported 10");
  EXPECT_EQ(missing.status, RunStatus::failed);
  EXPECT_EQ(missing.error, "the stored object " + missing.s3_key + " does not exist");
  EXPECT_TRUE(state_.object_checks_in_flight.empty());
}

TEST_F(StorageMaintenanceTest, AnUnavailableStorageDefersTheCheck) {
  RunRecord& run = completed_run("nightly", 10, 10);
  ServerConfig no_storage = *state_.config;
  no_storage.storage.reset();
  const auto configured = state_.config;
  state_.config = std::make_shared<const ServerConfig>(no_storage);
  verify(run);
  EXPECT_EQ(run.status, RunStatus::running);  // still being verified, not failed
  EXPECT_EQ(run.current_step, kVerifyingStep);

  state_.config = configured;  // the storage is back: the next tick resumes the check
  resume_object_checks(state_);
  run_next_completion();
  EXPECT_EQ(run.status, RunStatus::success);
}

TEST_F(StorageMaintenanceTest, RetentionKeepsTheNewestSuccessUnfinishedRunsAndUnlimitedJobs) {
  RunRecord& old_success = completed_run("nightly", 3, 3);
  verify(old_success);
  RunRecord& old_failure = completed_run("nightly", 3, 2);
  verify(old_failure);
  RunRecord& newest_success = completed_run("nightly", 4, 4);
  verify(newest_success);
  RunRecord& unfinished = state_.runs.create("nightly", "agent-1");
  RunRecord& unlimited = completed_run("forever", 5, 5);
  verify(unlimited);
  const std::uint64_t created = old_success.created_ms;

  EXPECT_TRUE(expired_runs(state_.runs, *state_.config, created + 7 * kDayMs - 1).empty());
  const std::vector<const RunRecord*> expired =
      expired_runs(state_.runs, *state_.config, created + 7 * kDayMs + 1000);
  EXPECT_EQ(expired, (std::vector<const RunRecord*>{&old_success, &old_failure}));

  const std::string removed_id = old_success.run_id;
  const std::filesystem::path removed_object = object(old_success);
  EXPECT_EQ(sweep_retention(state_, created + 7 * kDayMs + 1000), 2u);
  run_next_completion();
  EXPECT_EQ(state_.runs.find(removed_id), nullptr);
  EXPECT_FALSE(std::filesystem::exists(removed_object));
  EXPECT_EQ(state_.runs.size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(object(newest_success)));
  EXPECT_EQ(state_.runs.find(unfinished.run_id), &unfinished);
  EXPECT_TRUE(std::filesystem::exists(object(unlimited)));
}

}  // namespace
}  // namespace backupy::controlplane::detail
