// The agent's metrics endpoint as operators use it (issue #7, "Tests with real tools"): a real
// Prometheus server scrapes the real agent, which backs up a SQLite database for the real
// control plane (embedded object store); Prometheus's HTTP API then shows the agent up and the
// job's last successful backup at a time inside the test's window. `promtool check metrics`
// passes on the exposition the agent served, and GET /healthz answers 200 from the control
// loop.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>

#include "backupy/core/time.hpp"
#include "backupy/test_support/db_servers.hpp"
#include "fixtures.hpp"
#include "prometheus_server.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "prometheus-scrape-admin-token-3b8e";

// Wall-clock seconds, like the metric's value (Unix time).
double now_seconds() {
  return static_cast<double>(core::now_ms()) / 1000.0;
}

// The value of an instant-vector sample ([ts, "value"]), NaN if the result has none.
double sample_value(const Json& result, std::size_t index = 0) {
  if (!result.is_array() || result.size() <= index) return std::nan("");
  return std::stod(result[index]["value"][1].get<std::string>());
}

// GET url until it answers (the listener comes up shortly after the agent starts), bounded.
HttpReply get_when_up(const std::string& url, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpReply reply = http_get(url);
  while (reply.status == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    reply = http_get(url);
  }
  return reply;
}

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 2000); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  ControlPlaneOptions options() const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_type = "local";
    o.agent_config_yaml = orders_agent_config(database());
    return o;
  }

  Workspace ws_;
};

TEST_F(ObservabilityTest, PrometheusSeesTheAgentUpAndItsLastSuccessfulBackup) {
  const std::string metrics_addr = "127.0.0.1:" + std::to_string(test_support::pick_free_port());
  // First: Prometheus's first scrape waits ~5 s (prometheus_server.hpp); the backup overlaps it.
  PrometheusServer prometheus(ws_.dir() / "prometheus", metrics_addr);
  ControlPlane cp(ws_, options());
  Agent agent(ws_, AgentOptions{.server_url = cp.url(),
                                .extra_env = {{"BACKUPY_METRICS_LISTEN_ADDR", metrics_addr}}});
  const double started_at = now_seconds();
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();

  // The control loop answers /healthz, and knows it is online with config version 1 (the
  // RegisterAck may still be on its way when the control plane logged the register).
  const std::string healthz_url = "http://" + metrics_addr + "/healthz";
  HttpReply health = get_when_up(healthz_url, 10s);
  const auto health_deadline = std::chrono::steady_clock::now() + 10s;
  while (health.status == 200 &&
         Json::parse(health.body, nullptr, false).value("connection", "") != "online" &&
         std::chrono::steady_clock::now() < health_deadline) {
    std::this_thread::sleep_for(100ms);
    health = http_get(healthz_url);
  }
  ASSERT_EQ(health.status, 200) << health.body << agent.log().dump_tail();
  const Json health_json = Json::parse(health.body, nullptr, false);
  EXPECT_EQ(health_json.value("status", ""), "ok") << health.body;
  EXPECT_EQ(health_json.value("connection", ""), "online") << health.body;
  EXPECT_EQ(health_json.value("config_version", 0), 1) << health.body;
  EXPECT_EQ(http_get("http://" + metrics_addr + "/no-such-path").status, 404);

  // A full backup of job "orders" (target "lite").
  const ApiReply started = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  ASSERT_EQ(started.status, 202) << started.body;
  const Json run = cp.wait_for_run(
      started.json().value("run_id", ""), kAdminToken,
      [](const Json& r) { return r.value("status", "") == "success"; }, 30s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent.log().dump_tail();
  const double finished_at = now_seconds();

  // Prometheus scraped the agent (its own `up`) and sees backupy_agent_up == 1.
  const auto one_sample_equal_to = [](double expected) {
    return [expected](const Json& result) {
      return result.size() == 1 && sample_value(result) == expected;
    };
  };
  const Json scraped =
      prometheus.wait_for("up{job=\"backupy-agent\"}", one_sample_equal_to(1), 15s);
  ASSERT_EQ(sample_value(scraped), 1) << scraped.dump() << prometheus.log_tail();
  const Json up = prometheus.wait_for("backupy_agent_up", one_sample_equal_to(1), 5s);
  EXPECT_EQ(sample_value(up), 1) << up.dump();
  const Json online = prometheus.wait_for("backupy_agent_connection_state{state=\"online\"}",
                                          one_sample_equal_to(1), 5s);
  EXPECT_EQ(sample_value(online), 1) << online.dump();

  // The last success of job "orders" on target "lite", at a time inside this test's window.
  const Json last_success = prometheus.wait_for(
      "backupy_agent_last_success_timestamp_seconds{job_id=\"orders\"}",
      [](const Json& result) { return result.size() == 1; }, 10s);
  ASSERT_EQ(last_success.size(), 1u) << last_success.dump();
  EXPECT_EQ(last_success[0]["metric"].value("target_id", ""), "lite") << last_success.dump();
  const double succeeded_at = sample_value(last_success);
  EXPECT_GE(succeeded_at, started_at - 1) << last_success.dump();
  EXPECT_LE(succeeded_at, finished_at + 1) << last_success.dump();
  const Json runs = prometheus.wait_for(
      "backupy_agent_runs_total{job_id=\"orders\",status=\"success\"}", one_sample_equal_to(1), 5s);
  EXPECT_EQ(sample_value(runs), 1) << runs.dump();

  // promtool accepts the exposition the agent serves, without a lint complaint.
  const HttpReply metrics = http_get("http://" + metrics_addr + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << metrics.content_type;
  EXPECT_NE(metrics.body.find("backupy_agent_last_success_timestamp_seconds{"), std::string::npos)
      << metrics.body;
  const CommandResult lint = promtool_check_metrics(metrics.body, ws_.dir());
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  EXPECT_EQ(lint.out + lint.err, "") << metrics.body;
}

}  // namespace
}  // namespace backupy::testing
