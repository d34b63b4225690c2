// Sessions over the real listener: replacement, pings, config reloads, shutdown.
#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;

// -------------------------------------------------------------- session control --

TEST_F(ServerTest, NewSessionReplacesTheOldOne) {
  start();
  AgentClient first = client();
  const std::string first_session = first.register_agent(kKeyA).register_ack().session_id();
  AgentClient second = client();
  const std::string second_session = second.register_agent(kKeyA).register_ack().session_id();
  EXPECT_NE(first_session, second_session);
  ASSERT_TRUE(first.wait_closed(3s));
  EXPECT_EQ(first.close_reason().code, 1000);
  EXPECT_EQ(first.close_reason().reason, "replaced by a newer session");
  const std::optional<json> gone = logs_.wait_for("agent_disconnected");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["session_id"], first_session);
  EXPECT_EQ((*gone)["reason"], "replaced by a newer session");
  second.send(job_update(1));
  EXPECT_EQ(second.acks_until(1).back(), 1u);
}

TEST_F(ServerTest, TwoAgentsAreIndependent) {
  start();
  AgentClient a = client();
  a.register_agent(kKeyA);
  AgentClient b = client();
  const Envelope reply = b.register_agent(kKeyB);
  EXPECT_EQ(reply.register_ack().config().version(), 0u);
  a.send(job_update(7));
  b.send(job_update(7));
  EXPECT_EQ(a.acks_until(7).back(), 7u);
  EXPECT_EQ(b.acks_until(7).back(), 7u);
  EXPECT_TRUE(logs_.events("duplicate").empty());
}

TEST_F(ServerTest, PingArrivesAndItsAckIsLogged) {
  Knobs knobs;
  knobs.ping_interval_sec = 1;
  start(knobs);
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  std::optional<Envelope> ping = agent.next_of(Envelope::kPing, 3s);
  ASSERT_TRUE(ping);
  EXPECT_FALSE(ping->correlation_id().empty());
  EXPECT_GT(ping->ping().ts_ms(), 0u);
  EXPECT_GT(ping->seq(), 1u);
  Envelope ack;
  ack.set_correlation_id(ping->correlation_id());
  ack.mutable_ack()->set_correlation_id(ping->correlation_id());
  ack.mutable_ack()->set_accepted(true);
  agent.send(ack);
  const std::string id = ping->correlation_id();
  EXPECT_TRUE(
      logs_.wait_for("ping_sent", [&](const json& j) { return j["correlation_id"] == id; }));
  const std::optional<json> logged =
      logs_.wait_for("ack", [&](const json& j) { return j["correlation_id"] == id; });
  ASSERT_TRUE(logged);
  EXPECT_EQ((*logged)["accepted"], true);
  std::optional<Envelope> second = agent.next_of(Envelope::kPing, 3s);
  ASSERT_TRUE(second);
  EXPECT_NE(second->correlation_id(), id);
}

TEST_F(ServerTest, ReloadPushesChangedConfigs) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);

  ReloadResult unchanged = server_->reload();
  EXPECT_TRUE(unchanged.ok) << unchanged.error;
  EXPECT_EQ(unchanged.config_updates_sent, 0u);

  Knobs knobs;
  knobs.version = 4;
  write_config(knobs);
  ReloadResult result = server_->reload();
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.agents, 2u);
  EXPECT_EQ(result.config_updates_sent, 1u);
  std::optional<Envelope> update = agent.next_of(Envelope::kConfigUpdate);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->config_update().config().version(), 4u);
  EXPECT_EQ(update->config_update().config().targets(0).connection().password_secret_ref(),
            kPassword);
  EXPECT_FALSE(update->correlation_id().empty());
  Envelope ack;
  ack.mutable_ack()->set_correlation_id(update->correlation_id());
  ack.mutable_ack()->set_accepted(true);
  agent.send(ack);

  const std::optional<json> sent = logs_.wait_for("config_update_sent");
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["agent_id"], "agent-a");
  EXPECT_EQ((*sent)["version"], 4);
  EXPECT_EQ((*sent)["correlation_id"], update->correlation_id());
  const std::string id = update->correlation_id();
  EXPECT_TRUE(logs_.wait_for("ack", [&](const json& j) { return j["correlation_id"] == id; }));
  const std::vector<json> reloaded = logs_.events("config_reloaded");
  ASSERT_EQ(reloaded.size(), 2u);
  EXPECT_EQ(reloaded[1]["agents"], 2);

  // A new session gets the new configuration in its RegisterAck.
  AgentClient later = client();
  EXPECT_EQ(later.register_agent(kKeyA).register_ack().config().version(), 4u);
  expect_no_secrets_logged();
}

TEST_F(ServerTest, FailedReloadKeepsTheOldConfig) {
  start();
  write_text(config_file(),
             "listen: \"127.0.0.1:0\"\ntls: {cert_file: server.crt,"
             " key_file: server.key}\nagentz: []\n");
  const ReloadResult result = server_->reload();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, config_file().string() +
                              ":3: agentz is not a known key (expected one of: listen, tls, "
                              "heartbeat_interval_sec, ping_interval_sec, idle_timeout_sec, "
                              "max_message_bytes, delivery_ack, agents, admin, storage, "
                              "token_signing_key_file, scheduling, catalog_file, "
                              "master_key_file)");
  const std::optional<json> failed = logs_.wait_for("config_reload_failed");
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["error"], result.error);
  AgentClient agent = client();
  EXPECT_EQ(agent.register_agent(kKeyA).register_ack().config().version(), 3u);
}

TEST_F(ServerTest, ReloadRemovingAnAgentEndsItsSession) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Knobs knobs;
  knobs.with_agent_a = false;
  write_config(knobs);
  ASSERT_TRUE(server_->reload().ok);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_EQ(https_get(port_, ca(), "/v1/agents/connect", "Bearer " + kKeyA).status, 401u);
}

TEST_F(ServerTest, StopClosesSessionsWithGoingAway) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  ASSERT_TRUE(agent.wait_closed(5s));
  EXPECT_EQ(agent.close_reason().code, 1001);
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  server_.reset();
  EXPECT_TRUE(logs_.wait_for("stopped"));
}

}  // namespace
}  // namespace backupy::controlplane
