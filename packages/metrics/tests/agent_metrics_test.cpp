#include "backupy/metrics/agent_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backupy/test_support/process.hpp"
#include "backupy/test_support/s3_server.hpp"

namespace backupy::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

FinishedRun success(std::string job, std::string target, std::uint64_t at_ms) {
  return {.job_id = std::move(job),
          .target_id = std::move(target),
          .status = RunStatus::success,
          .duration_seconds = 12.5,
          .input_bytes = 1'000'000,
          .stored_bytes = 250'000,
          .finished_at_ms = at_ms};
}

FinishedRun failure(std::string job, std::string target, std::uint64_t at_ms) {
  return {.job_id = std::move(job),
          .target_id = std::move(target),
          .status = RunStatus::failed,
          .duration_seconds = 3,
          .finished_at_ms = at_ms};
}

TEST(AgentMetricsTest, AFreshAgentIsUpWithItsBuildAndDisconnected) {
  AgentMetrics metrics("1.2.3", "abc1234");
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("\nbackupy_agent_up 1\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_build_info{commit=\"abc1234\",version=\"1.2.3\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_connection_state{state=\"disconnected\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_connection_state{state=\"online\"} 0"));
  EXPECT_THAT(text, HasSubstr("# TYPE backupy_agent_reconnects_total counter"));
  // Per-job families have no series until a run finishes.
  EXPECT_THAT(text, Not(HasSubstr("backupy_agent_runs_total")));
}

TEST(AgentMetricsTest, PerJobFamiliesAppearWithTheirTypesOnceARunFinished) {
  AgentMetrics metrics("1", "c");
  metrics.run_finished(success("j", "t", 1000));
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("# TYPE backupy_agent_run_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("# TYPE backupy_agent_runs_total counter"));
  EXPECT_THAT(text, HasSubstr("# TYPE backupy_agent_last_success_timestamp_seconds gauge"));
  EXPECT_THAT(text, HasSubstr("# HELP backupy_agent_last_success_timestamp_seconds Unix time"));
}

TEST(AgentMetricsTest, ConnectionStateHasExactlyOneSeriesSetAndIgnoresUnknownStates) {
  AgentMetrics metrics("1", "c");
  metrics.set_connection_state("online");
  metrics.set_connection_state("exploded");
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_connection_state{state=\"online\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_connection_state{state=\"disconnected\"} 0"));
  EXPECT_THAT(text, Not(HasSubstr("exploded")));
}

TEST(AgentMetricsTest, ASuccessfulRunSetsItsLastSuccessCountsAndSizes) {
  AgentMetrics metrics("1", "c");
  metrics.run_finished(success("nightly", "pg-main", 1'700'000'000'500));
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_runs_total{job_id=\"nightly\",status=\"success\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_last_success_timestamp_seconds{job_id=\"nightly\","
                              "target_id=\"pg-main\"} 1700000000.5"));
  EXPECT_THAT(text, Not(HasSubstr("backupy_agent_last_failure_timestamp_seconds{")));
  EXPECT_THAT(text, HasSubstr("backupy_agent_input_bytes_total 1000000"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_stored_bytes_total 250000"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_duration_seconds_count{job_id=\"nightly\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_duration_seconds_sum{job_id=\"nightly\"} 12.5"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_duration_seconds_bucket{job_id=\"nightly\","
                              "le=\"15\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_duration_seconds_bucket{job_id=\"nightly\","
                              "le=\"5\"} 0"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_size_bytes_sum{job_id=\"nightly\"} 250000"));
}

TEST(AgentMetricsTest, AFailedRunSetsLastFailureAndLeavesSizesAndLastSuccessAlone) {
  AgentMetrics metrics("1", "c");
  metrics.run_finished(success("nightly", "pg-main", 1'000'000));
  metrics.run_finished(failure("nightly", "pg-main", 2'000'000));
  metrics.run_finished(failure("nightly", "pg-main", 3'000'000));
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_runs_total{job_id=\"nightly\",status=\"failed\"} 2"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_runs_total{job_id=\"nightly\",status=\"success\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_last_success_timestamp_seconds{job_id=\"nightly\","
                              "target_id=\"pg-main\"} 1000\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_last_failure_timestamp_seconds{job_id=\"nightly\","
                              "target_id=\"pg-main\"} 3000\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_size_bytes_count{job_id=\"nightly\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_run_duration_seconds_count{job_id=\"nightly\"} 3"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_stored_bytes_total 250000"));
}

TEST(AgentMetricsTest, ACancelledRunIsCountedButIsNeitherASuccessNorAFailure) {
  AgentMetrics metrics("1", "c");
  FinishedRun run = failure("j", "t", 5000);
  run.status = RunStatus::cancelled;
  metrics.run_finished(run);
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_runs_total{job_id=\"j\",status=\"cancelled\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("backupy_agent_last_failure_timestamp_seconds{")));
  EXPECT_THAT(text, Not(HasSubstr("backupy_agent_last_success_timestamp_seconds{")));
}

TEST(AgentMetricsTest, JobsThatLeaveTheConfigLoseTheirSeries) {
  AgentMetrics metrics("1", "c");
  metrics.run_finished(success("kept", "a", 1000));
  metrics.run_finished(success("gone", "b", 1000));
  metrics.run_finished(failure("gone", "b", 2000));
  const std::vector<std::string> keep = {"kept"};
  metrics.retain_jobs(keep);
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("job_id=\"kept\""));
  EXPECT_THAT(text, Not(HasSubstr("job_id=\"gone\"")));
  // A job that comes back starts from nothing.
  metrics.run_finished(failure("gone", "b", 3000));
  EXPECT_THAT(metrics.expose({}),
              HasSubstr("backupy_agent_runs_total{job_id=\"gone\",status=\"failed\"} 1"));
}

TEST(AgentMetricsTest, HealthChecksReportTheirLastResultAndLeaveWithTheConfig) {
  AgentMetrics metrics("1", "c");
  metrics.health_check_result("web", true, 0.25);
  metrics.health_check_result("db", true, 0.5);
  metrics.health_check_result("db", false, 2);
  std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_health_check_up{check_id=\"web\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_health_check_up{check_id=\"db\"} 0"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_health_check_duration_seconds{check_id=\"db\"} 2"));
  const std::vector<std::string> keep = {"db"};
  metrics.retain_checks(keep);
  text = metrics.expose({});
  EXPECT_THAT(text, Not(HasSubstr("check_id=\"web\"")));
  EXPECT_THAT(text, HasSubstr("check_id=\"db\""));
}

TEST(AgentMetricsTest, CountersKeptElsewhereOnlyMoveForward) {
  AgentMetrics metrics("1", "c");
  metrics.observe_reconnects(3);
  metrics.observe_reconnects(2);
  EXPECT_THAT(metrics.expose({}), HasSubstr("backupy_agent_reconnects_total 3\n"));
  metrics.observe_reconnects(5);
  metrics.upload_retried(0);
  metrics.upload_retried(2);
  const std::string text = metrics.expose(
      {.log_events_rate_limited = 7, .log_events_queue_dropped = 1, .outbox_dropped = 4});
  EXPECT_THAT(text, HasSubstr("backupy_agent_reconnects_total 5\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_upload_retries_total 2\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_log_events_dropped_total{reason=\"rate_limit\"} 7"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_log_events_dropped_total{reason=\"queue_full\"} 1"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_outbox_dropped_total 4\n"));
}

TEST(AgentMetricsTest, StateFiguresAreThoseOfTheScrape) {
  AgentMetrics metrics("1", "c");
  metrics.set_config_version(42);
  metrics.set_discovered_containers(3);
  std::string text = metrics.expose({.queue_depth = 2, .outbox_depth = 9, .spool_bytes = 4096});
  EXPECT_THAT(text, HasSubstr("backupy_agent_config_version 42\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_discovered_containers 3\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_queue_depth 2\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_outbox_depth 9\n"));
  EXPECT_THAT(text, HasSubstr("backupy_agent_spool_bytes 4096\n"));
  text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr("backupy_agent_queue_depth 0\n"));
}

TEST(AgentMetricsTest, LabelValuesAreEscaped) {
  AgentMetrics metrics("1", "c");
  metrics.run_finished(success("we\"ird\\job", "t\nx", 1000));
  const std::string text = metrics.expose({});
  EXPECT_THAT(text, HasSubstr(R"(job_id="we\"ird\\job")"));
  EXPECT_THAT(text, HasSubstr(R"(target_id="t\nx")"));
}

// The real linter, on an exposition in which every metric has series.
TEST(AgentMetricsTest, PromtoolAcceptsTheExposition) {
  AgentMetrics metrics("0.9.0", "deadbee");
  metrics.set_config_version(7);
  metrics.set_connection_state("online");
  metrics.observe_reconnects(1);
  metrics.run_finished(success("nightly", "pg", 1'700'000'000'000));
  metrics.run_finished(failure("hourly", "redis", 1'700'000'100'000));
  metrics.upload_retried(1);
  metrics.health_check_result("web", true, 0.1);
  metrics.set_discovered_containers(2);
  const std::string text = metrics.expose(
      {.queue_depth = 1, .outbox_depth = 2, .spool_bytes = 3, .log_events_rate_limited = 1});

  const auto dir =
      std::filesystem::temp_directory_path() / ("backupy-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "exposition.txt";
  std::ofstream(file) << text;
  const std::string promtool = test_support::find_executable("promtool").string();
  const test_support::CommandResult result = test_support::run_command(
      {"/bin/sh", "-c", "\"$0\" check metrics < \"$1\"", promtool, file.string()}, {});
  std::filesystem::remove_all(dir);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out + result.err, "") << "promtool found lint problems";
}

}  // namespace
}  // namespace backupy::metrics
