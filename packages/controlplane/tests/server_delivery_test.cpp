// DeliveryAck over the real listener: cumulative acks, duplicates, gaps, v1 behaviour.
#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;

// ---------------------------------------------------------------- delivery ack --

TEST_F(ServerTest, OutboxEntriesAreLoggedAndAckedCumulatively) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    agent.send(job_update(seq, seq == 5 ? backup::v1::FAILED : backup::v1::RUNNING));
  }
  const std::vector<std::uint64_t> acks = agent.acks_until(5);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), 5u);
  EXPECT_TRUE(std::is_sorted(acks.begin(), acks.end()));

  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 5; }));
  const std::vector<json> results = logs_.events("result");
  ASSERT_EQ(results.size(), 5u);
  const json& last = results.back();
  EXPECT_EQ(last["agent_id"], "agent-a");
  EXPECT_EQ(last["type"], "job_update");
  EXPECT_EQ(last["job_id"], "nightly");
  EXPECT_EQ(last["run_id"], "run-5");
  EXPECT_EQ(last["status"], "FAILED");
  EXPECT_EQ(last["error_message"], "disk full");
  const std::optional<json> sent =
      logs_.wait_for("delivery_ack_sent", [](const json& j) { return j["through"] == 5; });
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["agent_id"], "agent-a");
}

TEST_F(ServerTest, LongReplayIsAckedSteadily) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  constexpr std::uint64_t kEntries = 1000;
  for (std::uint64_t seq = 1; seq <= kEntries; ++seq) agent.send(job_update(seq));
  const std::vector<std::uint64_t> acks = agent.acks_until(kEntries, 10s);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), kEntries);
  EXPECT_GE(acks.size(), kEntries / AckCoalescer::kMaxBatch);  // at least one per 100 entries
  EXPECT_LE(acks.size(), kEntries / 2);                        // and clearly coalesced
  EXPECT_TRUE(std::is_sorted(acks.begin(), acks.end()));
}

TEST_F(ServerTest, DuplicatesAreLoggedOnceAndAckedAgain) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) agent.send(job_update(seq));
  ASSERT_EQ(agent.acks_until(3).back(), 3u);
  agent.send(job_update(2));
  agent.send(job_update(3));
  EXPECT_EQ(agent.acks_until(3).back(), 3u);  // re-acked so the agent can drop them
  ASSERT_TRUE(logs_.wait_for("duplicate", [](const json& j) { return j["outbox_seq"] == 3; }));
  const std::vector<json> duplicates = logs_.events("duplicate");
  ASSERT_EQ(duplicates.size(), 2u);
  EXPECT_EQ(duplicates[0]["agent_id"], "agent-a");
  EXPECT_EQ(duplicates[0]["outbox_seq"], 2);
  EXPECT_EQ(logs_.events("result").size(), 3u);
}

TEST_F(ServerTest, DeduplicationSpansSessions) {
  start();
  {
    AgentClient first = client();
    first.register_agent(kKeyA);
    for (std::uint64_t seq = 1; seq <= 3; ++seq) first.send(job_update(seq));
    ASSERT_EQ(first.acks_until(3).back(), 3u);
  }
  AgentClient second = client();
  second.register_agent(kKeyA);
  for (std::uint64_t seq = 2; seq <= 4; ++seq) second.send(job_update(seq));
  EXPECT_EQ(second.acks_until(4).back(), 4u);
  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 4; }));
  EXPECT_EQ(logs_.events("duplicate").size(), 2u);
  EXPECT_EQ(logs_.events("result").size(), 4u);
}

TEST_F(ServerTest, GapStillAcksTheHighestReceived) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  agent.send(job_update(1));
  agent.send(job_update(2));
  agent.send(job_update(5));
  EXPECT_EQ(agent.acks_until(5).back(), 5u);
  const std::optional<json> gap = logs_.wait_for("outbox_gap");
  ASSERT_TRUE(gap);
  EXPECT_EQ((*gap)["missing_first"], 3);
  EXPECT_EQ((*gap)["missing_last"], 4);
}

TEST_F(ServerTest, OtherResultTypesAreLoggedWithTheirFields) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope done;
  done.set_outbox_seq(1);
  backup::v1::BackupCompleted* completed = done.mutable_backup_completed();
  completed->set_job_id("nightly");
  completed->set_run_id("r1");
  completed->set_s3_key("k/1");
  completed->set_size_bytes(1234);
  completed->set_sha256("ab");
  completed->set_encrypted_dek(std::string(32, '\x01'));
  agent.send(done);
  Envelope check;
  check.set_outbox_seq(2);
  check.mutable_health_check_result()->set_check_id("web");
  check.mutable_health_check_result()->set_ok(true);
  check.mutable_health_check_result()->set_status_code(200);
  agent.send(check);
  Envelope log_event;
  log_event.set_outbox_seq(3);
  log_event.mutable_log_event()->set_level(backup::v1::WARN);
  log_event.mutable_log_event()->set_message("slow");
  agent.send(log_event);
  ASSERT_EQ(agent.acks_until(3).back(), 3u);
  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 3; }));
  const std::vector<json> results = logs_.events("result");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["type"], "backup_completed");
  EXPECT_EQ(results[0]["run_id"], "r1");
  EXPECT_EQ(results[0]["size_bytes"], 1234);
  EXPECT_EQ(results[0]["s3_key"], "k/1");
  EXPECT_EQ(results[1]["type"], "health_check_result");
  EXPECT_EQ(results[1]["check_id"], "web");
  EXPECT_EQ(results[1]["ok"], true);
  EXPECT_EQ(results[2]["type"], "log_event");
  EXPECT_EQ(results[2]["log_level"], "WARN");
  EXPECT_EQ(results[2]["message"], "slow");
}

TEST_F(ServerTest, AgentWithoutTheCapabilityGetsNoDeliveryAck) {
  start();
  AgentClient agent = client();
  const Envelope reply = agent.register_agent(kKeyA, {"pg_dump"});
  EXPECT_EQ(reply.register_ack().server_capabilities_size(), 1);
  agent.send(job_update(1));
  ASSERT_TRUE(logs_.wait_for("result"));
  EXPECT_FALSE(agent.next(300ms));
  EXPECT_FALSE(agent.closed());
}

TEST_F(ServerTest, DeliveryAckOffBehavesLikeAV1Server) {
  Knobs knobs;
  knobs.delivery_ack = false;
  start(knobs);
  AgentClient agent = client();
  const Envelope reply = agent.register_agent(kKeyA);
  EXPECT_EQ(reply.register_ack().server_capabilities_size(), 0);
  agent.send(job_update(1));
  agent.send(job_update(1));
  ASSERT_TRUE(logs_.wait_for("duplicate"));
  EXPECT_FALSE(agent.next(300ms));
  EXPECT_TRUE(logs_.events("delivery_ack_sent").empty());
}

}  // namespace
}  // namespace backupy::controlplane
