// The control plane's metrics exposition: names, types, HELP lines, label sets and values in
// the Prometheus text format 0.0.4, and (with promtool installed) Prometheus' own linter.
#include "cp_metrics.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <string>

#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using testing::promtool_problems;
constexpr auto sample = testing::metric_sample;

TEST(CpMetricsTest, EveryMetricHasHelpTypeAndAStartingValue) {
  CpMetrics metrics("1.2.3");
  const std::string text = metrics.expose({});
  const std::vector<std::pair<std::string, std::string>> families = {
      {"backupy_cp_build_info", "gauge"},
      {"backupy_cp_agents_configured", "gauge"},
      {"backupy_cp_agents_connected", "gauge"},
      {"backupy_cp_sessions_opened_total", "counter"},
      {"backupy_cp_sessions_rejected_total", "counter"},
      {"backupy_cp_messages_received_total", "counter"},
      {"backupy_cp_runs_created_total", "counter"},
      {"backupy_cp_runs_finished_total", "counter"},
      {"backupy_cp_runs_active", "gauge"},
      {"backupy_cp_api_requests_total", "counter"},
      {"backupy_cp_object_bytes_received_total", "counter"},
      {"backupy_cp_config_reloads_total", "counter"},
  };
  for (const auto& [name, type] : families) {
    EXPECT_TRUE(std::regex_search(text, std::regex("(^|\n)# HELP " + name + " [A-Z][^\n]+\n")))
        << name;
    EXPECT_NE(text.find("# TYPE " + name + " " + type + "\n"), std::string::npos) << name;
  }
  EXPECT_EQ(sample(text, R"(backupy_cp_build_info{version="1.2.3"})"), 1);
  EXPECT_EQ(sample(text, "backupy_cp_agents_configured"), 0);
  EXPECT_EQ(sample(text, "backupy_cp_sessions_opened_total"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_created_total{trigger="scheduled"})"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_finished_total{status="cancelled"})"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_api_requests_total{status_class="5xx"})"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_config_reloads_total{result="failed"})"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_messages_received_total{type="heartbeat"})"), 0);
}

TEST(CpMetricsTest, CountsAndStateArriveUnderTheirLabels) {
  CpMetrics metrics("1.2.3");
  metrics.session_opened();
  metrics.session_opened();
  metrics.session_rejected("unknown_key");
  metrics.session_rejected("register_timeout");
  for (int i = 0; i < 3; ++i) metrics.message_received("heartbeat");
  metrics.message_received("malformed");
  metrics.run_created(RunTrigger::manual);
  metrics.run_created(RunTrigger::scheduled);
  metrics.run_created(RunTrigger::scheduled);
  metrics.run_finished(RunStatus::failed);
  metrics.api_request(202);
  metrics.api_request(200);
  metrics.api_request(409);
  metrics.api_request(999);
  metrics.object_bytes_received(1000);
  metrics.object_bytes_received(24);
  metrics.config_reload(true);
  metrics.config_reload(false);
  const std::string text =
      metrics.expose({.agents_configured = 7, .agents_connected = 5, .runs_active = 2});

  EXPECT_EQ(sample(text, "backupy_cp_agents_configured"), 7);
  EXPECT_EQ(sample(text, "backupy_cp_agents_connected"), 5);
  EXPECT_EQ(sample(text, "backupy_cp_runs_active"), 2);
  EXPECT_EQ(sample(text, "backupy_cp_sessions_opened_total"), 2);
  EXPECT_EQ(sample(text, R"(backupy_cp_sessions_rejected_total{reason="unknown_key"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_sessions_rejected_total{reason="register_timeout"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_messages_received_total{type="heartbeat"})"), 3);
  EXPECT_EQ(sample(text, R"(backupy_cp_messages_received_total{type="malformed"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_created_total{trigger="manual"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_created_total{trigger="scheduled"})"), 2);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_finished_total{status="failed"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_finished_total{status="success"})"), 0);
  EXPECT_EQ(sample(text, R"(backupy_cp_api_requests_total{status_class="2xx"})"), 2);
  EXPECT_EQ(sample(text, R"(backupy_cp_api_requests_total{status_class="4xx"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_api_requests_total{status_class="other"})"), 1);
  EXPECT_EQ(sample(text, "backupy_cp_object_bytes_received_total"), 1024);
  EXPECT_EQ(sample(text, R"(backupy_cp_config_reloads_total{result="ok"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_config_reloads_total{result="failed"})"), 1);
}

// The run store counts creations by trigger and each finish once.
TEST(CpMetricsTest, RunStoreCountsCreatedAndFinishedRuns) {
  CpMetrics metrics("1.2.3");
  RunStore runs(nullptr, &metrics);
  RunRecord& a = runs.create("nightly", "agent-a");
  RunRecord& b = runs.create("hourly", "agent-a", RunTrigger::scheduled);
  backup::v1::JobUpdate update;
  update.set_run_id(a.run_id);
  update.set_status(backup::v1::FAILED);
  ASSERT_NE(runs.apply("agent-a", update), nullptr);
  backup::v1::BackupCompleted completed;
  completed.set_run_id(a.run_id);
  EXPECT_EQ(runs.apply("agent-a", completed), nullptr);  // already finished: not again
  runs.fail(b, "agent offline", 1);
  runs.fail(b, "agent offline", 2);  // a finished run is left alone
  RunRecord& c = runs.create("nightly", "agent-a");
  completed.set_run_id(c.run_id);
  ASSERT_NE(runs.apply("agent-a", completed), nullptr);  // not finished before the object check
  runs.confirm_object(c, "", 3);
  const std::string text = metrics.expose({});
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_created_total{trigger="manual"})"), 2);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_created_total{trigger="scheduled"})"), 1);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_finished_total{status="failed"})"), 2);
  EXPECT_EQ(sample(text, R"(backupy_cp_runs_finished_total{status="success"})"), 1);
}

// Prometheus' own parser and linter.
TEST(CpMetricsTest, PromtoolAcceptsTheExposition) {
  CpMetrics metrics("1.2.3");
  metrics.session_rejected("unknown_key");
  metrics.message_received("job_update");
  metrics.object_bytes_received(5);
  const std::optional<std::string> problems =
      promtool_problems(metrics.expose({.agents_configured = 1}));
  if (!problems) GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  EXPECT_EQ(*problems, "");
}

}  // namespace
}  // namespace backupy::controlplane::detail
