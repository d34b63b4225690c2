// Run dispatch without sockets: scheduled and manual requests, runs that wait for their agent
// (bound, expiry, delivery order and fresh credentials on reconnect), overlapping fires.
#include "run_dispatcher.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/crypto/crypto.hpp"
#include "fake_agents.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using nlohmann::json;

class RunDispatcherTest : public ::testing::Test {
 protected:
  RunDispatcherTest() {
    config_.agents = {testing::agent_with_jobs("agent-1", {"a", "b", "c", "d"}),
                      testing::agent_with_jobs("agent-2", {"e"})};
    config_.storage = testing::s3_storage("dispatcher-test-secret");
    config_.scheduling.max_waiting_runs_per_agent = 3;
    config_.scheduling.waiting_run_ttl_sec = 600;
  }

  // A dispatcher at the test's clock (now_ms_).
  RunDispatcher dispatcher() {
    store_ = config_.storage
                 ? make_object_store(*config_.storage, crypto::as_bytes(std::string(32, 'k')),
                                     "https://127.0.0.1:8443")
                 : nullptr;
    return RunDispatcher(config_, runs_, agents_, store_.get(), now_ms_, log_);
  }

  RunAccepted accepted(const RunRequestResult& result) {
    const auto* run = std::get_if<RunAccepted>(&result);
    EXPECT_NE(run, nullptr) << std::get<RunRefusal>(result).reason;
    return run != nullptr ? *run : RunAccepted{};
  }
  RunRefusal refused(const RunRequestResult& result) {
    const auto* refusal = std::get_if<RunRefusal>(&result);
    EXPECT_NE(refusal, nullptr);
    return refusal != nullptr ? *refusal : RunRefusal{};
  }

  std::vector<json> events(std::string_view name) const { return logs_.events(name); }

  std::vector<std::string> sent_run_ids() const {
    std::vector<std::string> ids;
    for (const auto& [agent, envelope] : agents_.sent)
      ids.push_back(envelope.run_backup().run_id());
    return ids;
  }

  testing::LogCapture logs_;  // first: captures from construction on
  ServerConfig config_;
  RunStore runs_;
  testing::FakeAgents agents_;
  std::unique_ptr<ObjectStore> store_;
  std::uint64_t now_ms_ = core_now();
  core::Logger log_{"control-plane"};

  static std::uint64_t core_now() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
};

TEST_F(RunDispatcherTest, AScheduledRunGoesOutAtOnceToAnOnlineAgent) {
  agents_.online_ids = {"agent-1"};
  const RunAccepted run = accepted(dispatcher().request_run("a", RunTrigger::scheduled, false));
  ASSERT_NE(run.run, nullptr);
  EXPECT_TRUE(run.delivered);
  EXPECT_EQ(run.run->trigger, RunTrigger::scheduled);
  EXPECT_EQ(run.run->sent_ms, now_ms_);
  ASSERT_EQ(agents_.sent.size(), 1u);
  EXPECT_FALSE(agents_.sent[0].second.run_backup().manual_trigger());
  EXPECT_EQ(events("run_created")[0].value("trigger", ""), "scheduled");
}

// Never both: the schedule leaves an agent_cron agent's jobs to the agent (online or not);
// an operator's run still goes out as a v1 RunBackup with the raw DEK.
TEST_F(RunDispatcherTest, TheScheduleSkipsAgentsThatScheduleThemselves) {
  agents_.agent_cron_ids = {"agent-1"};
  for (const bool online : {true, false}) {
    agents_.online_ids = online ? std::set<std::string>{"agent-1"} : std::set<std::string>{};
    const RunRefusal left = refused(dispatcher().request_run("a", RunTrigger::scheduled, false));
    EXPECT_EQ(left.reason, "agent agent-1 schedules job a itself (agent_cron.v1)");
  }
  EXPECT_EQ(runs_.size(), 0u);
  EXPECT_TRUE(agents_.sent.empty());
  EXPECT_EQ(events("run_left_to_agent").size(), 2u);
  EXPECT_TRUE(events("run_skipped").empty());

  // Another agent's jobs are still scheduled.
  agents_.online_ids = {"agent-1", "agent-2"};
  EXPECT_NE(accepted(dispatcher().request_run("e", RunTrigger::scheduled, false)).run, nullptr);
  const RunAccepted manual = accepted(dispatcher().request_run("a", RunTrigger::manual, false));
  ASSERT_NE(manual.run, nullptr);
  ASSERT_EQ(agents_.sent.size(), 2u);
  EXPECT_TRUE(agents_.sent[1].second.run_backup().manual_trigger());
  EXPECT_EQ(agents_.sent[1].second.run_backup().encrypted_dek().size(), 32u);
}

// An adopted run's RunBackup carries credentials only: no DEK, not manual, and sending it does
// not reset what the agent reported.
TEST_F(RunDispatcherTest, AnAdoptedRunGetsCredentialsWithoutAKey) {
  agents_.online_ids = {"agent-1"};
  RunRecord& run = runs_.adopt("arun-0123456789abcdef", "a", "agent-1", true, 1'700'000'000'000);
  ASSERT_NE(
      runs_.apply("agent-1", testing::job_update("arun-0123456789abcdef", backup::v1::RUNNING)),
      nullptr);
  ASSERT_TRUE(dispatcher().send(run, true));
  ASSERT_EQ(agents_.sent.size(), 1u);
  const backup::v1::RunBackup& command = agents_.sent[0].second.run_backup();
  EXPECT_EQ(command.run_id(), "arun-0123456789abcdef");
  EXPECT_EQ(command.job_id(), "a");
  EXPECT_FALSE(command.manual_trigger());
  EXPECT_TRUE(command.encrypted_dek().empty());
  EXPECT_EQ(command.upload_creds().final_s3_key(), "agents/agent-1/a/arun-0123456789abcdef.bkpy");
  EXPECT_NE(command.upload_creds().presigned_put_url().find("arun-0123456789abcdef.bkpy"),
            std::string::npos);
  EXPECT_EQ(run.status, RunStatus::running);
  EXPECT_EQ(run.current_step, "dumping");
  EXPECT_EQ(run.sent_ms, now_ms_);
  // Never expired as "waiting for its agent": the agent made it (adopted from a result while
  // the agent was online, nothing sent yet).
  RunRecord& unsent = runs_.adopt("arun-2", "b", "agent-1", false, 0);
  now_ms_ += 3'600'000;
  EXPECT_EQ(dispatcher().expire_waiting(), 0u);
  EXPECT_EQ(unsent.status, RunStatus::queued);
}

TEST_F(RunDispatcherTest, AnOverlappingFireIsSkippedNamingTheActiveRun) {
  agents_.online_ids = {"agent-1"};
  const RunAccepted first = accepted(dispatcher().request_run("a", RunTrigger::scheduled, false));
  ASSERT_NE(first.run, nullptr);
  const RunRefusal skipped = refused(dispatcher().request_run("a", RunTrigger::scheduled, false));
  EXPECT_EQ(skipped.http_status, 409u);
  EXPECT_EQ(skipped.active_run_id, first.run->run_id);
  EXPECT_EQ(skipped.reason, "job a already has an unfinished run " + first.run->run_id +
                                " (queued, sent to agent agent-1)");
  const auto logged = events("run_skipped");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].value("job_id", ""), "a");
  EXPECT_EQ(logged[0].value("active_run_id", ""), first.run->run_id);
  EXPECT_EQ(logged[0].value("reason", ""), skipped.reason);
  EXPECT_EQ(runs_.size(), 1u);

  // Once the run has ended, the next fire runs the job again.
  runs_.fail(*first.run, "boom", now_ms_);
  EXPECT_NE(accepted(dispatcher().request_run("a", RunTrigger::scheduled, false)).run, nullptr);
  EXPECT_EQ(runs_.size(), 2u);
}

TEST_F(RunDispatcherTest, UnknownAndAmbiguousJobsAreRefusedWithAReason) {
  EXPECT_EQ(refused(dispatcher().request_run("zzz", RunTrigger::scheduled, false)).reason,
            "job zzz not found");
  config_.agents[1].config.add_jobs()->set_id("a");
  const RunRefusal ambiguous = refused(dispatcher().request_run("a", RunTrigger::manual, false));
  EXPECT_EQ(ambiguous.http_status, 409u);
  EXPECT_EQ(ambiguous.reason, "job a is configured for more than one agent (agent-1, agent-2)");
  EXPECT_EQ(events("run_skipped").size(), 1u) << "only the scheduled refusal is logged";
  config_.storage.reset();
  EXPECT_EQ(refused(dispatcher().request_run("e", RunTrigger::manual, false)).http_status, 503u);
  EXPECT_EQ(runs_.size(), 0u);
}

TEST_F(RunDispatcherTest, WaitingRunsAreBoundedPerAgent) {
  for (const char* job : {"a", "b", "c"}) {
    EXPECT_FALSE(accepted(dispatcher().request_run(job, RunTrigger::scheduled, false)).delivered);
  }
  EXPECT_EQ(events("run_waiting").size(), 3u);
  const RunRefusal full = refused(dispatcher().request_run("d", RunTrigger::scheduled, false));
  EXPECT_EQ(full.reason,
            "agent agent-1 is offline and already has 3 runs waiting for it "
            "(scheduling.max_waiting_runs_per_agent 3)");
  // Concurrency does not get around the bound; another agent has its own.
  EXPECT_EQ(refused(dispatcher().request_run("a", RunTrigger::manual, true)).reason, full.reason);
  EXPECT_FALSE(accepted(dispatcher().request_run("e", RunTrigger::manual, false)).delivered);
  EXPECT_EQ(runs_.size(), 4u);
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(RunDispatcherTest, ReconnectDeliversWaitingRunsOldestFirstWithFreshCredentials) {
  std::vector<std::string> ids;
  for (const char* job : {"c", "a", "b"}) {
    ids.push_back(
        accepted(dispatcher().request_run(job, RunTrigger::scheduled, false)).run->run_id);
  }
  ids.push_back(accepted(dispatcher().request_run("e", RunTrigger::manual, false)).run->run_id);
  EXPECT_EQ(dispatcher().deliver_waiting("agent-1"), 0u) << "still offline";

  agents_.online_ids = {"agent-1"};
  now_ms_ = runs_.find(ids[0])->created_ms + 300'000;  // five minutes later
  EXPECT_EQ(dispatcher().deliver_waiting("agent-1"), 3u);
  EXPECT_EQ(sent_run_ids(), (std::vector<std::string>{ids[0], ids[1], ids[2]}));
  for (const auto& [agent, envelope] : agents_.sent) {
    EXPECT_EQ(agent, "agent-1");
    // Presigned when sent, not when the run was created.
    EXPECT_EQ(envelope.run_backup().upload_creds().expires_at_ms(), (now_ms_ / 1000 + 900) * 1000);
  }
  EXPECT_EQ(runs_.find(ids[0])->sent_ms, now_ms_);
  EXPECT_TRUE(runs_.undelivered("agent-1").empty());
  EXPECT_EQ(runs_.undelivered("agent-2").size(), 1u);
  EXPECT_EQ(dispatcher().deliver_waiting("agent-1"), 0u) << "each run is delivered once";
  EXPECT_EQ(events("run_sent")[0].value("waited_ms", 0u), 300'000u);
}

TEST_F(RunDispatcherTest, RunsThatWaitTooLongFail) {
  RunRecord* run = accepted(dispatcher().request_run("a", RunTrigger::scheduled, false)).run;
  ASSERT_NE(run, nullptr);
  now_ms_ = run->created_ms + 599'999;  // the lifetime is 600 s
  EXPECT_EQ(dispatcher().expire_waiting(), 0u);
  EXPECT_EQ(run->status, RunStatus::queued);

  now_ms_ = run->created_ms + 600'000;
  EXPECT_EQ(dispatcher().expire_waiting(), 1u);
  EXPECT_EQ(run->status, RunStatus::failed);
  EXPECT_EQ(run->error,
            "agent agent-1 did not connect within 600 s (scheduling.waiting_run_ttl_sec)");
  EXPECT_EQ(run->finished_ms, now_ms_);
  EXPECT_EQ(events("run_expired").size(), 1u);
  EXPECT_EQ(dispatcher().expire_waiting(), 0u) << "a failed run stays failed";

  // A sent run never expires: it is the agent's now.
  agents_.online_ids = {"agent-2"};
  RunRecord* sent = accepted(dispatcher().request_run("e", RunTrigger::manual, false)).run;
  ASSERT_NE(sent, nullptr);
  now_ms_ = sent->created_ms + 10'000'000;
  EXPECT_EQ(dispatcher().expire_waiting(), 0u);

  // At registration too: the stale run is failed, not sent.
  RunRecord* stale = accepted(dispatcher().request_run("b", RunTrigger::manual, false)).run;
  ASSERT_NE(stale, nullptr);
  now_ms_ = stale->created_ms + 600'000;
  agents_.online_ids = {"agent-1"};
  agents_.sent.clear();
  EXPECT_EQ(dispatcher().deliver_waiting("agent-1"), 0u);
  EXPECT_EQ(stale->status, RunStatus::failed);
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(RunDispatcherTest, AnExpiredRunNoLongerBlocksItsJobOrTheBound) {
  config_.scheduling.max_waiting_runs_per_agent = 1;
  RunRecord* stale = accepted(dispatcher().request_run("a", RunTrigger::scheduled, false)).run;
  ASSERT_NE(stale, nullptr);
  now_ms_ = stale->created_ms + 600'000;
  const RunAccepted next = accepted(dispatcher().request_run("a", RunTrigger::scheduled, false));
  ASSERT_NE(next.run, nullptr);
  EXPECT_EQ(stale->status, RunStatus::failed);
}

}  // namespace
}  // namespace backupy::controlplane::detail
