// Docker discovery end to end: the real agent binary with BACKUPY_DOCKER_SOCKET pointing at the
// fake Engine API (tests/support/node/fake_docker.js serving packages/discovery's
// recorded-shape fixtures), the real control plane logging what arrives.
#include <gtest/gtest.h>
#include <signal.h>

#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "fixtures.hpp"
#include "prometheus_server.hpp"

namespace backupy::testing {
namespace {

const std::filesystem::path kFixtures =
    std::filesystem::path(BACKUPY_SOURCE_DIR) / "packages/discovery/tests/fixtures";
const std::string kPostgresId = "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5";
const std::string kMariaDbId = "e08f4c9c36148019458d78d4baa84cbfa4beeb6e36be36c96f74c8655723b1ba";
const std::string kRedisId = "34fb46c847bb9df96e5205a39d382f648a6e8dce1e014cd85b4ca6a88d88ed03";

LinePredicate discovery_result(std::string names) {
  return [names = std::move(names)](const Json& line) {
    return line.value("event", "") == "result" && line.value("type", "") == "discovery_report" &&
           line.value("container_names", "") == names;
  };
}

LinePredicate any_discovery_result() {
  return [](const Json& line) {
    return line.value("event", "") == "result" && line.value("type", "") == "discovery_report";
  };
}

// Each line is offered to the predicate once: counting in it is safe.
bool wait_for_heartbeats(ControlPlane& cp, int n) {
  int seen = 0;
  return cp.log()
      .wait_for(
          [&](const Json& line) { return line.value("event", "") == "heartbeat" && ++seen >= n; },
          15s)
      .has_value();
}

class DiscoveryTest : public ::testing::Test {
 protected:
  Workspace ws_;
};

TEST_F(DiscoveryTest, ReportsAtStartUpAndAfterAContainerStarts) {
  test_support::FakeDockerEngine fake({.fixtures = kFixtures});
  fake.set_running({kPostgresId, kMariaDbId});
  ControlPlane cp(ws_, {});
  const std::string metrics_addr = "127.0.0.1:" + std::to_string(test_support::pick_free_port());
  Agent agent(ws_, {.server_url = cp.url(),
                    .extra_env = {{"BACKUPY_DOCKER_SOCKET", fake.socket().string()},
                                  {"BACKUPY_DISABLE_DISCOVERY", "false"},
                                  {"BACKUPY_METRICS_LISTEN_ADDR", metrics_addr}}});
  agent.start();

  const auto reg = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(reg) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_NE(reg->value("capabilities", "").find("docker_discovery"), std::string::npos);
  EXPECT_EQ(reg->value("docker_version", ""), "24.0.7-fake");

  // The start-up report: the two running database containers.
  const auto first = cp.log().wait_for(discovery_result("shop-db,wiki-mariadb"), 20s);
  ASSERT_TRUE(first) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_EQ(first->value("containers", 0), 2);

  // `docker start cache` on the host: a second report, after the 2 s debounce.
  ASSERT_TRUE(fake.wait_for_state([](const Json& s) { return s.at("subscribers") == 1; }, 10s))
      << agent.log().dump_tail();
  EXPECT_EQ(fake.inject_event("start", kRedisId), 1);
  const auto second = cp.log().wait_for(discovery_result("shop-db,wiki-mariadb,cache"), 15s);
  ASSERT_TRUE(second) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_EQ(second->value("containers", 0), 3);
  EXPECT_EQ(cp.log().count(any_discovery_result()), 2u);
  // The metric is set before the report is queued: it says 3 by now.
  const HttpReply metrics = http_get("http://" + metrics_addr + "/metrics");
  ASSERT_EQ(metrics.status, 200) << agent.log().dump_tail();
  EXPECT_NE(metrics.body.find("\nbackupy_agent_discovered_containers 3\n"), std::string::npos)
      << metrics.body;

  // SIGTERM stays quick with the event stream open.
  const auto asked = std::chrono::steady_clock::now();
  agent.process().signal(SIGTERM);
  EXPECT_EQ(agent.process().wait(15s), 0);  // clean exit (also: no leak under the sanitizers)
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s);
  EXPECT_TRUE(agent.log().wait_for(msg_is("stopped"), 1s));
}

TEST_F(DiscoveryTest, DisabledSendsNoReportNoCapabilityAndNeverAsksTheDaemon) {
  test_support::FakeDockerEngine fake({.fixtures = kFixtures});
  ControlPlane cp(ws_, {});
  Agent agent(ws_, {.server_url = cp.url(),
                    .extra_env = {{"BACKUPY_DOCKER_SOCKET", fake.socket().string()},
                                  {"BACKUPY_DISABLE_DISCOVERY", "true"}}});
  agent.start();
  const auto reg = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(reg) << cp.log().dump_tail() << agent.log().dump_tail();
  EXPECT_EQ(reg->value("capabilities", "").find("docker_discovery"), std::string::npos);
  EXPECT_EQ(reg->value("docker_version", "x"), "");
  ASSERT_TRUE(
      agent.log().wait_for(msg_is("Docker discovery disabled (BACKUPY_DISABLE_DISCOVERY)"), 5s));
  // A report would be queued right after start-up; three heartbeats later there is none.
  ASSERT_TRUE(wait_for_heartbeats(cp, 3));
  EXPECT_EQ(cp.log().count(any_discovery_result()), 0u);
  const Json state = fake.state();
  EXPECT_EQ(state.at("event_requests"), 0);
}

TEST_F(DiscoveryTest, WithoutADockerSocketTheAgentRunsAndSaysWhyOnce) {
  ControlPlane cp(ws_, {});
  const auto missing = ws_.dir() / "no-docker" / "docker.sock";
  Agent agent(ws_, {.server_url = cp.url(),
                    .extra_env = {{"BACKUPY_DOCKER_SOCKET", missing.string()},
                                  {"BACKUPY_DISABLE_DISCOVERY", "false"}}});
  agent.start();
  const auto reg = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(reg) << cp.log().dump_tail() << agent.log().dump_tail();
  // Discovery is enabled (it reports once the daemon appears), the daemon unknown.
  EXPECT_NE(reg->value("capabilities", "").find("docker_discovery"), std::string::npos);
  EXPECT_EQ(reg->value("docker_version", "x"), "");
  const auto unreachable = msg_contains("Docker Engine API unreachable");
  const auto warned = agent.log().wait_for(unreachable, 10s);
  ASSERT_TRUE(warned) << agent.log().dump_tail();
  EXPECT_EQ(warned->value("level", ""), "warn");
  EXPECT_NE(warned->value("error", "").find(missing.string()), std::string::npos);
  EXPECT_NE(warned->value("error", "").find("No such file or directory"), std::string::npos);
  // Backoff retries (1 s, 2 s, ...) during three heartbeats: still one line.
  ASSERT_TRUE(wait_for_heartbeats(cp, 3));
  EXPECT_EQ(agent.log().count(unreachable), 1u);
  EXPECT_EQ(cp.log().count(any_discovery_result()), 0u);
}

}  // namespace
}  // namespace backupy::testing
