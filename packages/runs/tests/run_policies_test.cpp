// RunManager policies with the test's clock: the maintenance window, retries
// (dump from scratch, upload only, credential expiry, cancel, restarts) and
// first-come-first-served dump slots.
#include <sqlite3.h>

#include "run_manager_fixture.hpp"

namespace backupy::runs {
namespace {

// 2026-11-22T23:00:00Z: inside a 22:00-02:00 window that ends 2026-11-23T02:00:00Z.
constexpr std::uint64_t kInsideWindowMs = 1795388400000;
constexpr std::uint64_t kWindowEndMs = 1795399200000;

class RunPoliciesTest : public RunManagerTest {
 protected:
  // A RunBackup whose credentials are valid for a day of the test's clock.
  backup::v1::RunBackup scheduled(const std::string& job_id, const std::string& run_id,
                                  const TestHttpServer& server, bool manual = false) {
    auto run = command(job_id, run_id, server);
    run.set_manual_trigger(manual);
    run.mutable_upload_creds()->set_expires_at_ms(now() + 24 * 3600 * 1000);
    return run;
  }
  void retry_policy(const std::string& job_id, unsigned max_attempts,
                    std::initializer_list<unsigned> backoff) {
    auto* retry = job(job_id).mutable_retry();
    retry->set_max_attempts(max_attempts);
    for (unsigned seconds : backoff) retry->add_backoff_seconds(seconds);
  }
  bool has_step(const std::string& run_id, std::string_view step) {
    for (const auto& update : updates_of(run_id)) {
      if (update.current_step() == step) return true;
    }
    return false;
  }
  // Waits for the QUEUED update that announces attempt `attempt`.
  std::optional<backup::v1::JobUpdate> retry_update(const std::string& run_id,
                                                    std::uint32_t attempt) {
    std::optional<backup::v1::JobUpdate> found;
    wait_reports([&](const std::vector<Envelope>& all) {
      for (const auto& envelope : all) {
        const auto& update = envelope.job_update();
        if (envelope.has_job_update() && update.run_id() == run_id &&
            update.status() == backup::v1::QUEUED && update.attempt() == attempt) {
          found = update;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::size_t events_in(const std::string& run_id, RunState state) {
    std::size_t n = 0;
    for (const auto& event : journal_->events(run_id)) n += event.state == state ? 1 : 0;
    return n;
  }
  void use_late_database() {
    config_.mutable_targets(0)->mutable_connection()->set_database(
        (dir_.path() / "late.db").string());
  }
};

// ---- maintenance window ------------------------------------------------------

TEST_F(RunPoliciesTest, AScheduledRunWaitsForTheEndOfTheMaintenanceWindow) {
  config_.mutable_maintenance()->set_start_utc("22:00");
  config_.mutable_maintenance()->set_end_utc("02:00");
  set_clock(kInsideWindowMs);
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("lite-job", "run-held", server)).accepted());
  ASSERT_TRUE(wait_for_step(
      "run-held",
      "waiting for the maintenance window (22:00-02:00 UTC) to end at 2026-11-23T02:00:00.000Z"));
  std::this_thread::sleep_for(300ms);  // held: several clock re-checks, no dump
  EXPECT_FALSE(has_step("run-held", "dumping"));
  EXPECT_EQ(journal_->get("run-held")->state, RunState::queued);
  EXPECT_EQ(manager_->queue_depth(), 1u);
  set_clock(kWindowEndMs);
  const auto final = final_update("run-held");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(RunPoliciesTest, AManualRunIsNeverHeldByTheWindow) {
  config_.mutable_maintenance()->set_start_utc("22:00");
  config_.mutable_maintenance()->set_end_utc("02:00");
  set_clock(kInsideWindowMs);
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("lite-job", "run-manual", server, /*manual=*/true)).accepted());
  const auto final = final_update("run-manual");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  for (const auto& update : updates_of("run-manual")) {
    EXPECT_THAT(update.current_step(), Not(HasSubstr("maintenance window")));
  }
}

// ---- retries -----------------------------------------------------------------

TEST_F(RunPoliciesTest, AFailedDumpIsRetriedFromScratchAfterItsBackoff) {
  use_late_database();  // missing at first
  retry_policy("lite-job", 3, {30});
  TestHttpServer server({Reply{}});
  server.keep_bodies(true);
  start_manager();
  ASSERT_TRUE(submit(scheduled("lite-job", "run-retry", server, true)).accepted());
  const auto retry = retry_update("run-retry", 2);
  ASSERT_TRUE(retry);
  EXPECT_THAT(retry->error_message(), HasSubstr("late.db"));
  EXPECT_THAT(retry->current_step(), ::testing::StartsWith("retry 2 of 3 at "));
  EXPECT_THAT(retry->current_step(), HasSubstr(" after: " + retry->error_message()));
  EXPECT_EQ(journal_->get("run-retry")->attempt, 2u);
  EXPECT_EQ(journal_->get("run-retry")->state, RunState::queued);
  EXPECT_TRUE(spool_is_empty());

  fs::copy_file(dir_.path() / "app.db", dir_.path() / "late.db");
  std::this_thread::sleep_for(300ms);  // the backoff has not passed on the test's clock
  EXPECT_EQ(events_in("run-retry", RunState::running), 1u);
  advance_clock(31s);
  const auto final = final_update("run-retry");
  ASSERT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(final.attempt(), 2u);
  EXPECT_EQ(events_in("run-retry", RunState::running), 2u);
  EXPECT_EQ(rows_of_database(restore(server.requests().at(0).body, true)), expected_rows());
  // Every update states its attempt: 1 up to the failure, 2 from the retry on.
  bool retried = false;
  for (const auto& update : updates_of("run-retry")) {
    if (update.status() == backup::v1::QUEUED && update.attempt() == 2) retried = true;
    EXPECT_EQ(update.attempt(), retried ? 2u : 1u) << update.DebugString();
  }
}

TEST_F(RunPoliciesTest, AFailedUploadRetriesTheUploadOnly) {
  options_.upload.max_attempts = 1;  // the upload's own retries would hide the failure
  retry_policy("lite-job", 2, {5});
  TestHttpServer server({Reply{.status = 500}, Reply{}});
  server.keep_bodies(true);
  start_manager();
  ASSERT_TRUE(submit(scheduled("lite-job", "run-up", server, true)).accepted());
  const auto retry = retry_update("run-up", 2);
  ASSERT_TRUE(retry);
  EXPECT_THAT(retry->error_message(), HasSubstr("500"));
  EXPECT_EQ(journal_->get("run-up")->state, RunState::spooled);
  EXPECT_FALSE(spool_is_empty());  // the blob is kept for the retry
  advance_clock(6s);
  const auto final = final_update("run-up");
  ASSERT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(final.attempt(), 2u);
  ASSERT_EQ(server.requests().size(), 2u);                // two PUTs
  EXPECT_EQ(events_in("run-up", RunState::running), 1u);  // one dump
  EXPECT_EQ(server.requests().at(0).body_sha256, server.requests().at(1).body_sha256);
  EXPECT_EQ(rows_of_database(restore(server.requests().at(1).body, true)), expected_rows());
}

TEST_F(RunPoliciesTest, AServerRunIsNotRetriedOnceItsUrlExpiredAtTheRetryTime) {
  synthetic_.fail_with = "pg_dump: error: connection to server lost";
  retry_policy("syn-job", 3, {60});
  TestHttpServer server({Reply{}});
  start_manager();
  auto run = scheduled("syn-job", "run-short", server, true);
  const std::uint64_t expires = now() + 10'000;
  run.mutable_upload_creds()->set_expires_at_ms(expires);
  ASSERT_TRUE(submit(run).accepted());
  const auto final = final_update("run-short");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "pg_dump: error: connection to server lost (no retry: the upload credentials expire "
            "at " +
                core::iso8601_utc(expires) + ")");
  EXPECT_EQ(final.attempt(), 1u);
}

TEST_F(RunPoliciesTest, ACancelledRunIsNeverRetried) {
  synthetic_.bytes = 1ull << 30;
  synthetic_.pause = 20ms;
  retry_policy("syn-job", 3, {0});
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("syn-job", "run-c", server, true)).accepted());
  ASSERT_TRUE(wait_for_step("run-c", "dumping"));
  cancel("syn-job");
  const auto final = final_update("run-c");
  EXPECT_EQ(final.status(), backup::v1::CANCELLED);
  EXPECT_EQ(final.attempt(), 1u);
  for (const auto& update : updates_of("run-c")) EXPECT_EQ(update.attempt(), 1u);
}

TEST_F(RunPoliciesTest, AWaitingRetrySurvivesARestart) {
  synthetic_.fail_with = "pg_dump: error: connection to server lost";
  retry_policy("syn-job", 2, {60});
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("syn-job", "run-r", server, true)).accepted());
  ASSERT_TRUE(retry_update("run-r", 2));
  stop_manager();
  const auto waiting = journal_->get("run-r");
  EXPECT_EQ(waiting->state, RunState::queued);
  EXPECT_EQ(waiting->attempt, 2u);
  EXPECT_GT(waiting->not_before_ms, now() + 50'000);

  synthetic_.fail_with.clear();
  start_manager();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(events_in("run-r", RunState::running), 1u);  // still waiting for its backoff
  EXPECT_EQ(manager_->queue_depth(), 1u);
  advance_clock(61s);
  const auto final = final_update("run-r");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(final.attempt(), 2u);
}

TEST_F(RunPoliciesTest, TheTimeoutCoversEachAttemptNotTheBackoff) {
  synthetic_.fail_with = "pg_dump: error: connection to server lost";
  job("syn-job").set_timeout_sec(1);
  retry_policy("syn-job", 2, {60});
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("syn-job", "run-t", server, true)).accepted());
  ASSERT_TRUE(retry_update("run-t", 2));
  std::this_thread::sleep_for(1500ms);  // past the 1 s timeout of the first attempt
  EXPECT_EQ(journal_->get("run-t")->state, RunState::queued);
  synthetic_.fail_with.clear();
  advance_clock(61s);
  const auto final = final_update("run-t");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
}

TEST_F(RunPoliciesTest, ARunLeftRunningByACrashIsAFailedAttemptAndRetried) {
  retry_policy("lite-job", 2, {0});
  TestHttpServer server({Reply{}});
  const auto run = scheduled("lite-job", "run-crash", server, true);
  state::RunRecord record{.run_id = "run-crash",
                          .job_id = "lite-job",
                          .target_id = "lite",
                          .manual_trigger = true,
                          .creds = {.presigned_put_url = run.upload_creds().presigned_put_url(),
                                    .expires_at_ms = run.upload_creds().expires_at_ms(),
                                    .final_s3_key = run.upload_creds().final_s3_key()}};
  const std::string dek = dek_bytes();
  record.encrypted_dek.assign(dek.begin(), dek.end());
  ASSERT_TRUE(journal_->insert(record, 1000));
  ASSERT_TRUE(journal_->transition("run-crash", RunState::running, "", 2000));
  start_manager();
  const auto retry = retry_update("run-crash", 2);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->error_message(),
            "the agent restarted while the run was running; its dump did not finish");
  const auto final = final_update("run-crash");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(final.attempt(), 2u);
}

// ---- dump slots and the queue ------------------------------------------------

TEST_F(RunPoliciesTest, DumpSlotsGoFirstComeFirstServed) {
  synthetic_.bytes = 4 * 64 * 1024;
  synthetic_.pause = 30ms;
  config_.mutable_advanced()->set_max_parallel_jobs(1);
  TestHttpServer server({Reply{}});
  start_manager();
  for (const char* id : {"run-1", "run-2", "run-3"}) {
    ASSERT_TRUE(submit(scheduled("syn-job", id, server, true)).accepted());
  }
  for (const char* id : {"run-1", "run-2", "run-3"}) {
    EXPECT_EQ(final_update(id).status(), backup::v1::SUCCESS);
  }
  std::vector<std::string> order;
  for (const auto& envelope : reports()) {
    if (envelope.has_job_update() && envelope.job_update().current_step() == "dumping" &&
        (order.empty() || order.back() != envelope.job_update().run_id())) {
      order.push_back(envelope.job_update().run_id());
    }
  }
  EXPECT_EQ(order, (std::vector<std::string>{"run-1", "run-2", "run-3"}));
}

TEST_F(RunPoliciesTest, QueuedRunsSurviveARestart) {
  synthetic_.bytes = 1ull << 30;
  synthetic_.pause = 20ms;
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("syn-job", "run-long", server, true)).accepted());
  ASSERT_TRUE(wait_for_step("run-long", "dumping"));
  ASSERT_TRUE(submit(scheduled("lite-job", "run-next", server, true)).accepted());
  EXPECT_EQ(manager_->queue_depth(), 1u);
  stop_manager();
  EXPECT_EQ(journal_->get("run-next")->state, RunState::queued);
  EXPECT_EQ(journal_->get("run-long")->state, RunState::failed);  // its dump was cut off
  for (const auto& update : updates_of("run-next")) EXPECT_FALSE(is_final(update.status()));

  start_manager();
  const auto final = final_update("run-next");
  EXPECT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
}

TEST_F(RunPoliciesTest, HeldDumpsStayQueuedForTheNextStartWhileBusyRunsFinish) {
  synthetic_.bytes = 8 * 64 * 1024;
  synthetic_.pause = 30ms;
  config_.mutable_advanced()->set_max_parallel_jobs(2);  // a free slot: only the hold stops it
  TestHttpServer server({Reply{}});
  start_manager();
  ASSERT_TRUE(submit(scheduled("syn-job", "run-busy", server, true)).accepted());
  ASSERT_TRUE(wait_for_step("run-busy", "dumping"));
  manager_->hold_dumps();
  EXPECT_EQ(manager_->busy_runs(), 1u);
  ASSERT_TRUE(submit(scheduled("lite-job", "run-held", server, true)).accepted());

  // The run already dumping finishes; the held one never starts.
  EXPECT_EQ(final_update("run-busy").status(), backup::v1::SUCCESS);
  EXPECT_EQ(manager_->busy_runs(), 0u);
  std::this_thread::sleep_for(300ms);  // time it would need to start, were it not held
  EXPECT_EQ(journal_->get("run-held")->state, RunState::queued);
  EXPECT_FALSE(has_step("run-held", "dumping"));
  stop_manager();
  EXPECT_EQ(journal_->get("run-held")->state, RunState::queued);

  start_manager();  // the next binary: no hold
  EXPECT_EQ(final_update("run-held").status(), backup::v1::SUCCESS);
}

TEST_F(RunPoliciesTest, AQueuedServerRunWithExpiredCredentialsFailsAtStartUp) {
  TestHttpServer server({Reply{}});
  state::RunRecord record{.run_id = "run-stale",
                          .job_id = "lite-job",
                          .target_id = "lite",
                          .creds = {.presigned_put_url = "http://127.0.0.1:1/x",
                                    .expires_at_ms = 1767225600000,
                                    .final_s3_key = "x"}};
  const std::string dek = dek_bytes();
  record.encrypted_dek.assign(dek.begin(), dek.end());
  ASSERT_TRUE(journal_->insert(record, 1000));
  start_manager();
  const auto final = final_update("run-stale");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "cannot start after a restart: its upload credentials expired at "
            "2026-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace backupy::runs
