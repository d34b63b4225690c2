// The agent protocol over the real listener: Register, heartbeats, malformed and oversized frames.
#include <regex>

#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;

// -------------------------------------------------------------------- protocol --

TEST_F(ServerTest, RegisterGetsRegisterAckWithConfigAndCapabilities) {
  start();
  AgentClient agent = client();
  const std::uint64_t before = core::now_ms();
  const Envelope reply = agent.register_agent(kKeyA);
  EXPECT_EQ(reply.seq(), 1u);
  EXPECT_GE(reply.ts_ms() + 1000, before);
  EXPECT_EQ(reply.correlation_id(), "reg-1");
  const backup::v1::RegisterAck& ack = reply.register_ack();
  EXPECT_TRUE(std::regex_match(ack.session_id(), std::regex("[0-9a-f]{32}"))) << ack.session_id();
  EXPECT_EQ(ack.config().version(), 3u);
  ASSERT_EQ(ack.config().targets_size(), 1);
  EXPECT_EQ(ack.config().targets(0).type(), backup::v1::POSTGRESQL);
  EXPECT_EQ(ack.config().targets(0).connection().password_secret_ref(), kPassword);
  EXPECT_EQ(ack.config().jobs(0).cron(), "0 3 * * *");
  EXPECT_EQ(ack.heartbeat_interval_sec(), 15u);
  EXPECT_TRUE(std::regex_match(ack.server_time_iso(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << ack.server_time_iso();
  ASSERT_EQ(ack.server_capabilities_size(), 1);
  EXPECT_EQ(ack.server_capabilities(0), "delivery_ack.v1");

  const std::optional<json> connected = logs_.wait_for("agent_connected");
  ASSERT_TRUE(connected);
  EXPECT_EQ((*connected)["agent_id"], "agent-a");
  EXPECT_EQ((*connected)["session_id"], ack.session_id());
  EXPECT_TRUE((*connected)["remote"].get<std::string>().starts_with("127.0.0.1:"));
  const std::optional<json> reg = logs_.wait_for("register");
  ASSERT_TRUE(reg);
  EXPECT_EQ((*reg)["agent_id"], "agent-a");
  EXPECT_EQ((*reg)["agent_version"], "1.2.3");
  EXPECT_EQ((*reg)["hostname"], "host-1");
  EXPECT_EQ((*reg)["os"], "linux");
  EXPECT_EQ((*reg)["arch"], "amd64");
  EXPECT_EQ((*reg)["capabilities"], "pg_dump,delivery_ack.v1");
  EXPECT_EQ((*reg)["last_known_config_version"], 2);
  EXPECT_EQ((*reg)["delivery_ack"], true);
  expect_no_secrets_logged();
}

TEST_F(ServerTest, HeartbeatAndAckAreLogged) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(3);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_cpu_percent(12.5f);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_mem_used_bytes(100);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_mem_total_bytes(200);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_disk_used_bytes(300);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_disk_total_bytes(400);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_queue_depth(2);
  heartbeat.mutable_heartbeat()->add_active_job_ids("j1");
  heartbeat.mutable_heartbeat()->add_active_job_ids("j2");
  agent.send(heartbeat);
  Envelope ack;
  ack.mutable_ack()->set_correlation_id("cfg-x");
  ack.mutable_ack()->set_accepted(false);
  ack.mutable_ack()->set_reason("bad cron");
  agent.send(ack);

  const std::optional<json> hb = logs_.wait_for("heartbeat");
  ASSERT_TRUE(hb);
  EXPECT_EQ((*hb)["agent_id"], "agent-a");
  EXPECT_EQ((*hb)["config_version"], 3);
  EXPECT_DOUBLE_EQ((*hb)["cpu_percent"].get<double>(), 12.5);
  EXPECT_EQ((*hb)["mem_used_bytes"], 100);
  EXPECT_EQ((*hb)["mem_total_bytes"], 200);
  EXPECT_EQ((*hb)["disk_used_bytes"], 300);
  EXPECT_EQ((*hb)["disk_total_bytes"], 400);
  EXPECT_EQ((*hb)["queue_depth"], 2);
  EXPECT_EQ((*hb)["active_job_ids"], "j1,j2");
  const std::optional<json> logged = logs_.wait_for("ack");
  ASSERT_TRUE(logged);
  EXPECT_EQ((*logged)["correlation_id"], "cfg-x");
  EXPECT_EQ((*logged)["accepted"], false);
  EXPECT_EQ((*logged)["reason"], "bad cron");
}

TEST_F(ServerTest, FirstMessageMustBeRegister) {
  start();
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(1);
  agent.send(heartbeat);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_TRUE(logs_.wait_for("protocol_violation"));
}

TEST_F(ServerTest, RegisterMustArriveInTime) {
  ServerOptions options;
  options.register_timeout = 200ms;
  start({}, options);
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_TRUE(logs_.wait_for("register_timeout"));
  const std::optional<json> gone = logs_.wait_for("agent_disconnected");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["reason"], "Register not received in time");
}

TEST_F(ServerTest, TextAndMalformedFramesAreIgnored) {
  start();
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  agent.send_raw("hello", false);
  agent.send_raw(std::string("\xff\xff\xff\xff", 4), true);
  Envelope envelope;
  envelope.mutable_register_()->set_agent_version("1");
  agent.send(envelope);
  std::optional<Envelope> ack = agent.next(3s);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->has_register_ack());
  EXPECT_TRUE(logs_.wait_for("text_frame_ignored"));
  EXPECT_TRUE(logs_.wait_for("malformed_envelope"));
}

TEST_F(ServerTest, ParsedButUnusablePayloadsAreReportedAndStillCounted) {
  // Unlike garbage, an envelope without a payload or with a server-only one is reported by
  // payload name, and its outbox_seq is still acknowledged.
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope empty;
  empty.set_outbox_seq(1);
  agent.send(empty);
  Envelope server_only;
  server_only.set_outbox_seq(2);
  server_only.mutable_ping()->set_ts_ms(1);
  agent.send(server_only);
  const std::vector<std::uint64_t> acks = agent.acks_until(2);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), 2u);
  EXPECT_TRUE(
      logs_.wait_for("unexpected_message", [](const json& j) { return j["payload"] == "none"; }));
  EXPECT_TRUE(
      logs_.wait_for("unexpected_message", [](const json& j) { return j["payload"] == "ping"; }));
  EXPECT_TRUE(logs_.events("malformed_envelope").empty());
}

TEST_F(ServerTest, OversizedFrameEndsTheSession) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  agent.send_raw(std::string(kMinMessageBytes + 1, 'x'), true);
  ASSERT_TRUE(agent.wait_closed(5s));
  EXPECT_EQ(agent.close_reason().code, 1009);  // message too big
  EXPECT_TRUE(logs_.wait_for("agent_disconnected"));
}

TEST_F(ServerTest, AcceptsMessagesOfFourMebibytes) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope big = job_update(1);
  big.mutable_job_update()->set_current_step(std::string(kMinMessageBytes - 100, 's'));
  ASSERT_LE(big.ByteSizeLong(), kMinMessageBytes);
  agent.send(big);
  EXPECT_EQ(agent.acks_until(1), std::vector<std::uint64_t>{1});
}

}  // namespace
}  // namespace backupy::controlplane
