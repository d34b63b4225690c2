// Agent <-> control plane over real TLS on loopback: both real binaries.
#include <gtest/gtest.h>
#include <signal.h>

#include "backupy/test_support/connect_proxy.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

LinePredicate agent_msg(std::string msg) {
  return msg_is(std::move(msg));
}

class AgentControlPlaneTest : public ::testing::Test {
 protected:
  Workspace ws_;
};

TEST_F(AgentControlPlaneTest, RegistersAndHeartbeatsWithRealMetrics) {
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();

  const auto reg = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(reg) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_EQ(reg->value("agent_id", ""), "agent-1");
  EXPECT_NE(reg->value("capabilities", "").find("delivery_ack.v1"), std::string::npos);
  EXPECT_NE(reg->value("capabilities", "").find("agent_cron.v1"), std::string::npos);
  // The build dumps PostgreSQL: the v1 capability string says so.
  EXPECT_NE(reg->value("capabilities", "").find("pg_dump"), std::string::npos);
  EXPECT_EQ(reg->value("os", ""), "linux");
  EXPECT_FALSE(reg->value("hostname", "").empty());
  EXPECT_FALSE(reg->value("agent_version", "").empty());
  EXPECT_EQ(reg->value("last_known_config_version", -1), 0);

  ASSERT_TRUE(agent.log().wait_for(agent_msg("registered with control plane"), 10s));
  ASSERT_TRUE(agent.log().wait_for(agent_msg("applied config"), 10s));

  // heartbeat_interval_sec = 1: at least 3 heartbeats within ~4 s.
  const auto first = cp.log().wait_for(event_is("heartbeat"), 10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->value("config_version", 0), 1);
  EXPECT_GT(first->value("mem_total_bytes", std::uint64_t{0}), 0u);
  EXPECT_GT(first->value("disk_total_bytes", std::uint64_t{0}), 0u);
  std::this_thread::sleep_for(3500ms);
  const auto beats = cp.log().count(event_is("heartbeat"));
  EXPECT_GE(beats, 3u);
  EXPECT_LE(beats, 6u) << "heartbeats must follow the interval, not flood";
}

TEST_F(AgentControlPlaneTest, AnswersServerPingsWithCorrelatedAcks) {
  ControlPlane cp(ws_, {.ping_interval_sec = 1});
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();
  const auto ping = cp.log().wait_for(event_is("ping_sent"), 20s);
  ASSERT_TRUE(ping) << cp.log().dump_tail();
  const std::string correlation = ping->value("correlation_id", "");
  ASSERT_FALSE(correlation.empty());
  const auto ack = cp.log().wait_for(
      [&](const Json& line) {
        return line.value("event", "") == "ack" && line.value("correlation_id", "") == correlation;
      },
      10s);
  ASSERT_TRUE(ack) << cp.log().dump_tail();
  EXPECT_TRUE(ack->value("accepted", false));
}

TEST_F(AgentControlPlaneTest, ReconnectsAfterTheServerIsKilledAndRestarted) {
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s));
  cp.kill();
  ASSERT_TRUE(agent.log().wait_for(agent_msg("connection to control plane lost"), 10s));
  std::this_thread::sleep_for(1s);
  const auto restarted_at = std::chrono::steady_clock::now();
  cp.restart();
  // Backoff after one healthy connection: 1 s, 2 s, 4 s (+/-20 %) -> well within 10 s.
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 15s)) << agent.log().dump_tail();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - restarted_at);
  RecordProperty("reconnect_ms_after_restart", static_cast<int>(elapsed.count()));
  EXPECT_EQ(cp.log().all(event_is("register")).front().value("last_known_config_version", 0), 1)
      << "the agent must remember its config across reconnects";
}

TEST_F(AgentControlPlaneTest, WrongKeyIsAClearAuthFailureAndTheAgentKeepsRetrying) {
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url(), .agent_key = agent_key_for("someone-else")});
  agent.start();
  const auto failure = agent.log().wait_for(
      agent_msg("authentication failed: the control plane refused the agent key"), 20s);
  ASSERT_TRUE(failure) << agent.log().dump_tail();
  EXPECT_EQ(failure->value("http_status", 0), 401);
  EXPECT_EQ(failure->value("level", ""), "error");
  ASSERT_TRUE(cp.log().wait_for(event_is("auth_failed"), 5s));
  // Retried at the cap (60 s +/- 20 %), and the process stays up.
  const auto retry = agent.log().wait_for(agent_msg("reconnecting"), 5s);
  ASSERT_TRUE(retry);
  EXPECT_GE(retry->value("delay_ms", 0), 48000);
  EXPECT_LE(retry->value("delay_ms", 0), 72000);
  EXPECT_TRUE(agent.process().running());
  // The key never appears in either log.
  const std::string key = agent_key_for("someone-else");
  EXPECT_EQ(agent.log().raw().find(key), std::string::npos);
  EXPECT_EQ(cp.log().raw().find(key), std::string::npos);
}

TEST_F(AgentControlPlaneTest, ConfigUpdateIsAppliedAckedAndSurvivesRestart) {
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(agent_msg("applied config"), 20s));

  cp.reload(
      "version: 2\n"
      "targets:\n"
      "  - {id: pg1, type: postgresql, connection: {host: db, port: 5432, username: backup, "
      "password: \"Pg-Secret-Passw0rd\"}}\n"
      "jobs:\n"
      "  - {id: nightly, target_id: pg1, cron: \"0 3 * * *\"}\n"
      "  - {id: hourly, target_id: pg1, cron: \"@hourly\"}\n");
  ASSERT_TRUE(cp.log().wait_for(event_is("config_update_sent"), 10s)) << cp.log().dump_tail();
  const auto ack = cp.log().wait_for(
      [](const Json& l) { return l.value("event", "") == "ack" && l.value("accepted", false); },
      10s);
  ASSERT_TRUE(ack) << cp.log().dump_tail();
  const auto applied = agent.log().wait_for(
      [](const Json& l) {
        return l.value("msg", "") == "applied config" && l.value("config_version", 0) == 2;
      },
      10s);
  ASSERT_TRUE(applied);
  EXPECT_EQ(applied->value("jobs", 0), 2);

  // Restart without the server: the config is known before connecting.
  agent.stop_gracefully();
  cp.kill();
  agent.start();
  const auto loaded = agent.log().wait_for(agent_msg("loaded persisted config"), 10s);
  ASSERT_TRUE(loaded) << agent.log().dump_tail();
  EXPECT_EQ(loaded->value("config_version", 0), 2);
  EXPECT_EQ(loaded->value("jobs", 0), 2);

  // dump-state works while running; secrets only with --allow-secrets.
  const auto redacted = agent.command({"dump-state"});
  ASSERT_EQ(redacted.exit_code, 0) << redacted.err;
  const auto state = Json::parse(redacted.out);
  EXPECT_EQ(state["config"]["version"], "2");  // proto3 JSON: uint64 as string
  EXPECT_EQ(state["config"]["targets"][0]["connection"]["password_secret_ref"], "[REDACTED]");
  EXPECT_EQ(state["bootstrap"]["BACKUPY_AGENT_KEY"], "[REDACTED]");
  EXPECT_EQ(redacted.out.find("Pg-Secret-Passw0rd"), std::string::npos);
  const auto full = agent.command({"dump-state", "--allow-secrets"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("Pg-Secret-Passw0rd"), std::string::npos);

  // Reconnect reports the persisted version.
  cp.restart();
  const auto reg = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->value("last_known_config_version", 0), 2);
  EXPECT_EQ(agent.log().raw().find("Pg-Secret-Passw0rd"), std::string::npos);
}

TEST_F(AgentControlPlaneTest, KeyRotationDropsStoredSecretsAndFetchesAFreshConfig) {
  ControlPlane cp(ws_, {});
  Agent old_agent(ws_, {.server_url = cp.url()});
  old_agent.start();
  ASSERT_TRUE(old_agent.log().wait_for(agent_msg("applied config"), 20s));
  old_agent.stop_gracefully();

  const std::string new_key = agent_key_for("rotated");
  cp.rotate_agent_key(new_key);
  ASSERT_TRUE(cp.log().wait_for(event_is("config_reloaded"), 10s)) << cp.log().dump_tail();
  const std::size_t mark = cp.log().size();
  Agent agent(ws_, {.server_url = cp.url(), .agent_key = new_key});  // same state dir
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(
      msg_contains("stored config secrets were sealed with a different agent key"), 10s))
      << agent.log().dump_tail();
  const auto reg = cp.log().wait_for(event_is("register"), 20s, mark);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->value("last_known_config_version", -1), 0) << "a fresh config is requested";
  ASSERT_TRUE(agent.log().wait_for(agent_msg("applied config"), 10s)) << agent.log().dump_tail();
  const auto full = agent.command({"dump-state", "--allow-secrets"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_NE(full.out.find("Pg-Secret-Passw0rd"), std::string::npos)
      << "the fresh config restores the secrets";
}

TEST_F(AgentControlPlaneTest, SigtermExitsCleanlyWithinTenSeconds) {
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(agent_msg("registered with control plane"), 20s));

  const auto healthy = agent.command({"health-check"});
  EXPECT_EQ(healthy.exit_code, 0) << healthy.out;
  EXPECT_NE(healthy.out.find("healthy: online"), std::string::npos) << healthy.out;

  const auto begin = std::chrono::steady_clock::now();
  agent.process().signal(SIGTERM);
  const auto code = agent.process().wait(10s);
  ASSERT_TRUE(code.has_value()) << "agent did not exit within 10 s";
  EXPECT_EQ(*code, 0);
  RecordProperty("sigterm_exit_ms",
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - begin)
                                      .count()));
  ASSERT_TRUE(cp.log().wait_for(event_is("agent_disconnected"), 5s));

  const auto after = agent.command({"health-check"});
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_NE(after.out.find("unhealthy"), std::string::npos);
}

TEST_F(AgentControlPlaneTest, DialsThroughAnHttpsProxyUnlessNoProxyMatches) {
  ControlPlane cp(ws_, {});
  test_support::TestConnectProxy proxy;
  const std::string proxy_url = "http://bob:pr0xy-pass@127.0.0.1:" + std::to_string(proxy.port());
  Agent agent(ws_, {.server_url = "https://localhost:" + std::to_string(cp.port()),
                    .extra_env = {{"HTTPS_PROXY", proxy_url}}});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << agent.log().dump_tail();
  ASSERT_EQ(proxy.tunnels(), 1);
  EXPECT_EQ(proxy.requests().front().rfind("CONNECT localhost:" + std::to_string(cp.port()), 0),
            0u);
  EXPECT_EQ(agent.log().raw().find("pr0xy-pass"), std::string::npos);
  agent.stop_gracefully();

  Agent direct(ws_,
               {.server_url = "https://localhost:" + std::to_string(cp.port()),
                .extra_env = {{"HTTPS_PROXY", proxy_url}, {"NO_PROXY", "localhost"}}},
               "direct");
  direct.start();
  ASSERT_TRUE(direct.log().wait_for(msg_is("registered with control plane"), 20s));
  EXPECT_EQ(proxy.tunnels(), 1) << "NO_PROXY must bypass the proxy";
}

TEST_F(AgentControlPlaneTest, AgentStartsAndRetriesWhileTheServerIsDown) {
  Agent agent(ws_, {.server_url = "https://127.0.0.1:1"});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(agent_msg("cannot reach control plane"), 10s));
  ASSERT_TRUE(agent.log().wait_for(agent_msg("reconnecting"), 5s));
  const auto health = agent.command({"health-check"});
  EXPECT_EQ(health.exit_code, 0) << health.out;
  EXPECT_NE(health.out.find("disconnected"), std::string::npos) << health.out;
}

TEST_F(AgentControlPlaneTest, InvalidEnvironmentExitsOneNamingTheVariable) {
  const auto result = run_command(
      {BACKUPY_AGENT_BIN, "run"},
      {{"BACKUPY_SERVER_URL", "ftp://x"}, {"BACKUPY_AGENT_KEY", "not-a-valid-key-value"}});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("BACKUPY_SERVER_URL"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("BACKUPY_AGENT_KEY is not a valid agent key"), std::string::npos);
  EXPECT_EQ(result.err.find("not-a-valid-key-value"), std::string::npos);
  const auto usage = run_command({BACKUPY_AGENT_BIN, "frobnicate"}, {});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("usage: backupy-agent"), std::string::npos);
}

TEST_F(AgentControlPlaneTest, VersionJsonDescribesTheBuild) {
  const auto result = run_command({BACKUPY_AGENT_BIN, "version", "--json"}, {});
  ASSERT_EQ(result.exit_code, 0);
  const auto version = Json::parse(result.out);
  EXPECT_EQ(version["name"], "backupy-agent");
  EXPECT_EQ(version["protocol"], "backup.v1");
  EXPECT_FALSE(version["version"].get<std::string>().empty());
}

TEST_F(AgentControlPlaneTest, HealthCheckResultsReachTheControlPlane) {
  ControlPlane cp(ws_, {});
  // The control plane's own port is a listening TCP socket and serves /healthz over TLS with
  // the test CA the agent trusts; port 9 on loopback is closed.
  cp.reload(
      "version: 2\n"
      "targets:\n"
      "  - {id: pg1, type: postgresql, connection: {host: db, port: 5432}}\n"
      "health_checks:\n"
      "  - {id: cp-tcp, type: tcp, target: \"127.0.0.1:" +
      std::to_string(cp.port()) +
      "\", interval_sec: 5, timeout_sec: 2}\n"
      "  - {id: cp-https, type: https, target: \"" +
      cp.url() +
      "/healthz\", interval_sec: 5, timeout_sec: 2}\n"
      "  - {id: closed, type: tcp, target: \"127.0.0.1:9\", interval_sec: 5, timeout_sec: 2}\n");
  Agent agent(ws_, {.server_url = cp.url()});
  agent.start();

  auto result_of = [&](const std::string& check_id) {
    return cp.log().wait_for(
        [check_id](const Json& l) {
          return l.value("type", "") == "health_check_result" &&
                 l.value("check_id", "") == check_id;
        },
        20s);
  };
  const auto tcp = result_of("cp-tcp");
  ASSERT_TRUE(tcp) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_TRUE(tcp->value("ok", false)) << tcp->dump();
  const auto https = result_of("cp-https");
  ASSERT_TRUE(https) << cp.log().dump_tail();
  EXPECT_TRUE(https->value("ok", false)) << https->dump();
  EXPECT_EQ(https->value("status_code", 0), 200);
  const auto closed = result_of("closed");
  ASSERT_TRUE(closed) << cp.log().dump_tail();
  EXPECT_FALSE(closed->value("ok", true));
  EXPECT_FALSE(closed->value("error_message", "").empty()) << closed->dump();
}

}  // namespace
}  // namespace backupy::testing
