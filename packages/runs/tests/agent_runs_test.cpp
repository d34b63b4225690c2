// Agent-made runs (agent_cron.v1): RunManager::schedule_run dumps without the
// control plane, parks the spooled blob until upload credentials arrive, and
// reports only the wrapped DEK. The wrap itself is the fixture's stand-in.
#include "run_manager_fixture.hpp"

namespace backupy::runs {
namespace {

// 2026-11-22T03:00:00Z
constexpr std::chrono::sys_seconds kInstant{std::chrono::seconds(1795316400)};
constexpr std::string_view kKeyId = "x25519-0123456789abcdef";

class AgentRunsTest : public RunManagerTest {
 protected:
  void SetUp() override {
    RunManagerTest::SetUp();
    auto* key = config_.mutable_key_wrapping();
    key->set_key_id(std::string(kKeyId));
    key->set_x25519_public_key(std::string(32, '\x09'));
  }
  void fire(const std::string& job_id, bool catch_up = false) {
    on_control([&] {
      manager_->schedule_run(
          scheduling::Fire{.job_id = job_id, .scheduled_for = kInstant, .catch_up = catch_up});
    });
  }
  // The id of the agent-made run announced first (its first UploadCredsRequest).
  std::string first_run_id() {
    std::string id;
    wait_reports([&](const std::vector<Envelope>& all) {
      for (const auto& envelope : all) {
        if (envelope.has_upload_creds_request()) {
          id = envelope.upload_creds_request().run_id();
          return true;
        }
      }
      return false;
    });
    return id;
  }
  std::vector<backup::v1::UploadCredsRequest> creds_requests(const std::string& run_id) {
    std::vector<backup::v1::UploadCredsRequest> out;
    for (const auto& envelope : reports_where(&Envelope::has_upload_creds_request)) {
      if (envelope.upload_creds_request().run_id() == run_id) {
        out.push_back(envelope.upload_creds_request());
      }
    }
    return out;
  }
  // The control plane's answer: RunBackup for the agent's run id, no DEK.
  backup::v1::RunBackup answer(const std::string& job_id, const std::string& run_id,
                               const TestHttpServer& server) {
    auto run = command(job_id, run_id, server);
    run.clear_encrypted_dek();
    run.set_manual_trigger(false);
    return run;
  }
};

TEST_F(AgentRunsTest, AFireDumpsOfflineParksThenUploadsWhenCredentialsCome) {
  TestHttpServer server({Reply{}});
  server.keep_bodies(true);
  start_manager();
  fire("lite-job");
  const std::string id = first_run_id();
  ASSERT_THAT(id, ::testing::MatchesRegex("arun-[0-9a-f]{16}"));
  ASSERT_TRUE(wait_for_step(id, "waiting_for_upload_credentials"));
  ASSERT_TRUE(wait_state(id, RunState::spooled));

  // Outbox order: the request (wrapped DEK, key id, fire) before the first JobUpdate.
  const auto all = reports();
  std::vector<std::string> kinds;
  for (const auto& envelope : all) {
    if (envelope.has_upload_creds_request() && envelope.upload_creds_request().run_id() == id) {
      kinds.push_back("request");
    } else if (envelope.has_job_update() && envelope.job_update().run_id() == id) {
      kinds.push_back(envelope.job_update().status() == backup::v1::QUEUED ? "queued" : "update");
    }
  }
  ASSERT_GE(kinds.size(), 3u);
  EXPECT_EQ(kinds[0], "request");
  EXPECT_EQ(kinds[1], "queued");
  const auto requests = creds_requests(id);
  ASSERT_EQ(requests.size(), 2u);  // at creation, and again when parked
  const auto& request = requests.front();
  EXPECT_EQ(request.job_id(), "lite-job");
  EXPECT_EQ(request.scheduled_for_ms(), 1795316400000u);
  EXPECT_FALSE(request.catch_up());
  EXPECT_EQ(request.dek_kms_id(), kKeyId);
  EXPECT_THAT(request.encrypted_dek(), ::testing::StartsWith("WRAP" + std::string(kKeyId)));
  EXPECT_EQ(requests.back().encrypted_dek(), request.encrypted_dek());
  for (const auto& update : updates_of(id)) EXPECT_EQ(update.attempt(), 1u);

  // Parked: no worker, counted in the queue, raw DEK gone from the journal.
  const auto parked = journal_->get(id);
  EXPECT_TRUE(parked->encrypted_dek.empty());
  EXPECT_EQ(parked->origin, state::RunOrigin::agent);
  for (int i = 0; i < 500 && manager_->active_runs() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(manager_->active_runs(), 0u);
  EXPECT_EQ(manager_->queue_depth(), 1u);

  // The session comes online: the parked run asks again.
  on_control([&] { manager_->request_missing_credentials(); });
  EXPECT_EQ(creds_requests(id).size(), 3u);

  // The control plane answers: the upload starts.
  const auto ack = submit(answer("lite-job", id, server));
  EXPECT_TRUE(ack.accepted()) << ack.reason();
  const auto final = final_update(id);
  ASSERT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  const auto done = completion_of(id);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->encrypted_dek(), request.encrypted_dek());
  EXPECT_EQ(done->dek_kms_id(), kKeyId);
  const auto dek = unwrap_stand_in(request.encrypted_dek());
  EXPECT_EQ(rows_of_database(restore_with(server.requests().at(0).body, dek)), expected_rows());
  // The raw DEK never left the agent.
  const std::string raw(dek.begin(), dek.end());
  for (const auto& envelope : reports()) {
    EXPECT_EQ(envelope.SerializeAsString().find(raw), std::string::npos) << envelope.DebugString();
  }
  EXPECT_EQ(manager_->queue_depth(), 0u);
}

TEST_F(AgentRunsTest, AParkedRunSurvivesARestartAndUploadsLater) {
  TestHttpServer server({Reply{}});
  start_manager();
  fire("lite-job");
  const std::string id = first_run_id();
  ASSERT_TRUE(wait_for_step(id, "waiting_for_upload_credentials"));
  stop_manager();
  start_manager();
  EXPECT_EQ(journal_->get(id)->state, RunState::spooled);  // not failed
  EXPECT_FALSE(spool_is_empty());
  EXPECT_TRUE(submit(answer("lite-job", id, server)).accepted());
  EXPECT_EQ(final_update(id).status(), backup::v1::SUCCESS);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST_F(AgentRunsTest, CancelJobCancelsAParkedRunAndRemovesItsBlob) {
  start_manager();
  fire("lite-job");
  const std::string id = first_run_id();
  ASSERT_TRUE(wait_for_step(id, "waiting_for_upload_credentials"));
  for (int i = 0; i < 500 && manager_->active_runs() != 0; ++i) std::this_thread::sleep_for(10ms);
  const auto ack = cancel("lite-job");
  EXPECT_TRUE(ack.accepted()) << ack.reason();
  const auto final = final_update(id);
  EXPECT_EQ(final.status(), backup::v1::CANCELLED);
  EXPECT_EQ(journal_->get(id)->state, RunState::cancelled);
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(AgentRunsTest, AFireWhileTheJobHasAnUnfinishedRunIsSkippedAndReported) {
  start_manager();
  fire("lite-job");
  const std::string id = first_run_id();
  ASSERT_TRUE(wait_for_step(id, "waiting_for_upload_credentials"));
  fire("lite-job");
  const auto events = reports_where(&Envelope::has_log_event);
  ASSERT_EQ(events.size(), 1u);
  const auto& event = events.front().log_event();
  EXPECT_EQ(event.level(), backup::v1::WARN);
  EXPECT_EQ(event.job_id(), "lite-job");
  EXPECT_EQ(event.message(),
            "scheduled run skipped: run " + id + " of job lite-job is still spooled");
  EXPECT_EQ(event.fields().at("scheduled_for"), "2026-11-22T03:00:00.000Z");
  EXPECT_EQ(event.fields().at("active_run_id"), id);
  EXPECT_EQ(reports_where(&Envelope::has_upload_creds_request).size(), 2u);  // no new run
}

TEST_F(AgentRunsTest, AnEncryptedJobWithoutAKeyWrappingKeyFailsWithTheReason) {
  config_.clear_key_wrapping();
  start_manager();
  fire("lite-job");
  const std::string id = first_run_id();
  const auto final = final_update(id);
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "job \"lite-job\" is encrypted but the control plane published no key-wrapping key "
            "(AgentConfig.key_wrapping)");
  const auto requests = creds_requests(id);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(requests.front().encrypted_dek().empty());
  EXPECT_EQ(journal_->get(id)->state, RunState::failed);
}

TEST_F(AgentRunsTest, ACatchUpSaysSoInItsRequestAndStep) {
  job("lite-job").set_encryption_enabled(false);
  start_manager();
  fire("lite-job", /*catch_up=*/true);
  const std::string id = first_run_id();
  ASSERT_TRUE(wait_for_step(id, "queued (catch-up of the run due at 2026-11-22T03:00:00.000Z)"));
  const auto requests = creds_requests(id);
  ASSERT_FALSE(requests.empty());
  EXPECT_TRUE(requests.front().catch_up());
  EXPECT_TRUE(requests.front().encrypted_dek().empty());  // not encrypted: no key at all
  EXPECT_TRUE(requests.front().dek_kms_id().empty());
}

}  // namespace
}  // namespace backupy::runs
