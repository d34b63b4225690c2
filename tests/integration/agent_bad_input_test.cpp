// The real agent binary against a scripted WebSocket peer: protocol order,
// hostile or broken input, oversized frames, dead peers, rejected configs.
#include <gtest/gtest.h>

#include "backup/v1/agent.pb.h"
#include "backupy/test_support/test_pki.hpp"
#include "backupy/test_support/ws_test_peer.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

using backup::v1::Envelope;
using test_support::WsPeerConnection;
using test_support::WsTestPeer;

std::string encode(const Envelope& envelope) {
  return envelope.SerializeAsString();
}

// Reads agent frames until one matches; other frames (heartbeats...) are skipped.
std::optional<Envelope> read_until(WsPeerConnection& conn,
                                   const std::function<bool(const Envelope&)>& match,
                                   std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto frame = conn.read_binary(left);
    if (!frame) return std::nullopt;
    Envelope envelope;
    if (envelope.ParseFromString(*frame) && match(envelope)) return envelope;
  }
  return std::nullopt;
}

std::function<bool(const Envelope&)> ack_for(std::string correlation_id) {
  return [id = std::move(correlation_id)](const Envelope& e) {
    return e.has_ack() && e.ack().correlation_id() == id;
  };
}

Envelope register_ack(std::uint64_t config_version, bool delivery_ack = false) {
  Envelope envelope;
  auto* ack = envelope.mutable_register_ack();
  ack->set_session_id("scripted-session");
  ack->set_heartbeat_interval_sec(30);
  ack->set_server_time_iso("2026-11-22T00:00:00Z");
  if (delivery_ack) ack->add_server_capabilities("delivery_ack.v1");
  auto* config = ack->mutable_config();
  config->set_version(config_version);
  auto* target = config->add_targets();
  target->set_id("pg1");
  target->set_type(backup::v1::POSTGRESQL);
  target->mutable_connection()->set_host("db");
  auto* job = config->add_jobs();
  job->set_id("nightly");
  job->set_target_id("pg1");
  job->set_cron("0 3 * * *");
  return envelope;
}

Envelope ping(std::string correlation_id) {
  Envelope envelope;
  envelope.set_correlation_id(std::move(correlation_id));
  envelope.mutable_ping()->set_ts_ms(1);
  return envelope;
}

class AgentBadInputTest : public ::testing::Test {
 protected:
  WsTestPeer make_peer(const char* cert = "server.crt", const char* key = "server.key") {
    const auto pki = test_support::test_pki();
    return WsTestPeer(
        {.tls = true, .cert_file = (pki / cert).string(), .key_file = (pki / key).string()});
  }

  Agent make_agent(const WsTestPeer& peer, std::map<std::string, std::string> env = {}) {
    return Agent(ws_, {.server_url = "https://localhost:" + std::to_string(peer.port()),
                       .extra_env = std::move(env)});
  }

  // Accepts the agent's connection, checks Register, answers RegisterAck.
  std::unique_ptr<WsPeerConnection> register_agent(WsTestPeer& peer, Agent& agent,
                                                   bool delivery_ack = false) {
    auto conn = peer.accept(20s);
    if (!conn) {
      ADD_FAILURE() << "agent did not connect\n" << agent.log().dump_tail();
      return nullptr;
    }
    const auto reg = read_until(*conn, [](const Envelope& e) { return e.has_register_(); });
    if (!reg) {
      ADD_FAILURE() << "no Register";
      return nullptr;
    }
    EXPECT_EQ(reg->seq(), 1u) << "Register must be the agent's first frame";
    conn->send_binary(encode(register_ack(1, delivery_ack)));
    if (!agent.log().wait_for(msg_is("registered with control plane"), 10s)) {
      ADD_FAILURE() << agent.log().dump_tail();
    }
    return conn;
  }

  Workspace ws_;
};

TEST_F(AgentBadInputTest, SendsBearerKeyAndRegisterFirst) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = peer.accept(20s);
  ASSERT_TRUE(conn) << agent.log().dump_tail();
  EXPECT_EQ(conn->request().authorization, "Bearer " + agent_key_for("agent-1"));
  EXPECT_EQ(conn->request().target, "/v1/agents/connect");
  const auto frame = conn->read_binary(10s);
  ASSERT_TRUE(frame);
  Envelope first;
  ASSERT_TRUE(first.ParseFromString(*frame));
  ASSERT_TRUE(first.has_register_());
  EXPECT_EQ(first.register_().os(), "linux");
  EXPECT_FALSE(first.register_().arch().empty());
  EXPECT_EQ(first.register_().last_known_config_version(), 0u);
}

TEST_F(AgentBadInputTest, MalformedAndUnexpectedFramesAreSkippedAndTheSessionLives) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = register_agent(peer, agent);
  ASSERT_TRUE(conn);

  conn->send_binary(std::string("\xff\xff\xff\xff\x0f\x01\x02", 7));  // not protobuf
  conn->send_text("{\"hello\": \"json\"}");                           // text frame
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(9);
  conn->send_binary(encode(heartbeat));                // agent->server payload
  conn->send_binary(std::string("\xea\x04\x01x", 4));  // unknown oneof member 77
  conn->send_binary("");                               // empty envelope
  conn->send_binary(encode(ping("still-alive")));

  const auto ack = read_until(*conn, ack_for("still-alive"));
  ASSERT_TRUE(ack) << agent.log().dump_tail();
  EXPECT_TRUE(ack->ack().accepted());
  EXPECT_EQ(ack->correlation_id(), "still-alive");

  auto& log = agent.log();
  EXPECT_TRUE(
      log.wait_for(msg_is("ignored a text frame: the protocol uses binary frames only"), 5s));
  const auto skipped = log.all(msg_is("ignored a frame from the control plane"));
  ASSERT_EQ(skipped.size(), 4u) << log.dump_tail();
  EXPECT_NE(skipped[0].value("reason", "").find("malformed frame"), std::string::npos);
  EXPECT_NE(skipped[1].value("reason", "").find("heartbeat (tag 11)"), std::string::npos);
  EXPECT_NE(skipped[2].value("reason", "").find("unknown payload member 77"), std::string::npos);
  EXPECT_EQ(skipped[3].value("reason", ""), "envelope without a payload");
  EXPECT_EQ(log.count(msg_is("connecting to control plane")), 1u) << "no reconnect";
  EXPECT_TRUE(conn->is_open());
}

TEST_F(AgentBadInputTest, OversizedFrameIsClosedWith1009AndTheAgentReconnects) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = register_agent(peer, agent);
  ASSERT_TRUE(conn);
  conn->send_binary(std::string(4 * 1024 * 1024 + 1, 'x'));
  EXPECT_EQ(conn->wait_closed(10s), 1009);
  auto again = peer.accept(15s);
  ASSERT_TRUE(again) << agent.log().dump_tail();
}

TEST_F(AgentBadInputTest, FirstServerMessageMustBeRegisterAck) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = peer.accept(20s);
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->read_binary(10s));  // Register
  conn->send_binary(encode(ping("too-early")));
  EXPECT_EQ(conn->wait_closed(10s), 1002);
  const auto error = agent.log().wait_for(msg_is("protocol error"), 5s);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->value("reason", ""), "expected RegisterAck as the first message, got ping");
  ASSERT_TRUE(peer.accept(15s)) << "the agent must reconnect";
}

TEST_F(AgentBadInputTest, InvalidOrOlderConfigIsRejectedAndTheLastGoodOneStays) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = register_agent(peer, agent);
  ASSERT_TRUE(conn);

  Envelope update;
  update.set_correlation_id("cfg-2");
  auto* config = update.mutable_config_update()->mutable_config();
  *config = register_ack(2).register_ack().config();
  config->mutable_jobs(0)->set_target_id("ghost");
  config->add_jobs()->set_id("nightly");  // duplicate id, no target
  conn->send_binary(encode(update));
  const auto rejected = read_until(*conn, ack_for("cfg-2"));
  ASSERT_TRUE(rejected);
  EXPECT_FALSE(rejected->ack().accepted());
  EXPECT_NE(rejected->ack().reason().find("config version 2 rejected"), std::string::npos);
  EXPECT_NE(rejected->ack().reason().find("\"ghost\" does not exist"), std::string::npos)
      << rejected->ack().reason();
  EXPECT_NE(rejected->ack().reason().find("duplicate job id"), std::string::npos)
      << rejected->ack().reason();

  Envelope older;
  older.set_correlation_id("cfg-0");
  *older.mutable_config_update()->mutable_config() = register_ack(0).register_ack().config();
  conn->send_binary(encode(older));
  const auto stale = read_until(*conn, ack_for("cfg-0"));
  ASSERT_TRUE(stale);
  EXPECT_FALSE(stale->ack().accepted());
  EXPECT_NE(stale->ack().reason().find("older than the applied version 1"), std::string::npos);

  const auto state = Json::parse(agent.command({"dump-state"}).out);
  EXPECT_EQ(state["config"]["version"], "1");
}

TEST_F(AgentBadInputTest, SilentPeerIsDetectedAsDeadAndReplaced) {
  auto peer = make_peer();
  Agent agent = make_agent(peer, {{"BACKUPY_PEER_TIMEOUT_SEC", "2"}});
  agent.start();
  auto conn = register_agent(peer, agent);
  ASSERT_TRUE(conn);
  conn->go_silent();
  const auto lost = agent.log().wait_for(msg_is("connection to control plane lost"), 10s);
  ASSERT_TRUE(lost) << agent.log().dump_tail();
  ASSERT_TRUE(peer.accept(15s)) << agent.log().dump_tail();
}

TEST_F(AgentBadInputTest, UntrustedServerCertificateIsRefusedWithTheReason) {
  auto peer = make_peer("other-server.crt", "other-server.key");
  Agent agent = make_agent(peer);
  agent.start();
  const auto failure = agent.log().wait_for(msg_is("cannot reach control plane"), 20s);
  ASSERT_TRUE(failure) << agent.log().dump_tail();
  EXPECT_NE(failure->value("reason", "").find("certificate verify failed"), std::string::npos)
      << failure->dump();
  EXPECT_FALSE(peer.accept(500ms));
}

TEST_F(AgentBadInputTest, CommandsItCannotRunYetAreAnsweredHonestly) {
  auto peer = make_peer();
  Agent agent = make_agent(peer);
  agent.start();
  auto conn = register_agent(peer, agent);
  ASSERT_TRUE(conn);

  Envelope run;
  run.set_correlation_id("run-1");
  run.mutable_run_backup()->set_job_id("nightly");
  run.mutable_run_backup()->set_run_id("r-42");
  conn->send_binary(encode(run));
  const auto failed = read_until(*conn, [](const Envelope& e) { return e.has_job_update(); });
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->job_update().status(), backup::v1::FAILED);
  EXPECT_EQ(failed->job_update().run_id(), "r-42");
  EXPECT_GT(failed->outbox_seq(), 0u) << "results travel through the durable outbox";

  Envelope update;
  update.set_correlation_id("upd-1");
  update.mutable_self_update()->set_target_version("9.9.9");
  conn->send_binary(encode(update));
  const auto refused = read_until(*conn, ack_for("upd-1"));
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->ack().accepted());
}

}  // namespace
}  // namespace backupy::testing
