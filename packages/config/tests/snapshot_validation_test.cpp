// validate_snapshot as a whole: valid configs, limits, several problems at
// once, how values are echoed, and summarize_problems.
#include "backupy/config/snapshot_validation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "snapshot_validation_test_support.hpp"

namespace backupy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::valid_config;

TEST(SnapshotValidationTest, FullValidConfigPasses) {
  EXPECT_THAT(validate_snapshot(valid_config()), IsEmpty());
}

TEST(SnapshotValidationTest, EmptyConfigPasses) {
  EXPECT_THAT(validate_snapshot(backup::v1::AgentConfig{}), IsEmpty());
}

TEST(SnapshotValidationTest, ValuesAtEveryLimitPass) {
  auto config = valid_config();
  config.mutable_targets(0)->mutable_connection()->set_port(65535);
  auto* job = config.mutable_jobs(0);
  job->mutable_retry()->set_max_attempts(100);
  job->mutable_retry()->add_backoff_seconds(86400);
  job->set_timeout_sec(7 * 86400);
  job->add_pre_hooks(std::string(4095, 'x'));
  config.mutable_health_checks(0)->set_expected_status(100);
  config.mutable_health_checks(1)->set_expected_status(599);
  config.mutable_advanced()->set_max_parallel_jobs(64);
  // A window may wrap past midnight.
  config.mutable_maintenance()->set_start_utc("23:59");
  config.mutable_maintenance()->set_end_utc("00:00");
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
}

TEST(SnapshotValidationTest, EmptyMaintenanceAndDefaultsPass) {
  auto config = valid_config();
  config.clear_maintenance();
  config.mutable_advanced()->clear_log_level();
  config.mutable_advanced()->clear_max_parallel_jobs();
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
}

TEST(SnapshotValidationTest, ReportsEveryProblemInConfigOrder) {
  auto config = valid_config();
  config.mutable_targets(0)->set_type(backup::v1::DB_UNSPECIFIED);
  config.mutable_targets(0)->mutable_connection()->set_port(70000);
  config.mutable_jobs(0)->set_cron("0 0 * * 5-1");
  config.mutable_jobs(0)->set_compression("lz4");
  config.mutable_jobs(2)->set_target_id("nope");
  config.mutable_health_checks(2)->set_target("db.internal");
  config.mutable_maintenance()->set_end_utc("3:00");
  config.mutable_advanced()->set_log_level("loud");
  EXPECT_THAT(
      validate_snapshot(config),
      ElementsAre("target \"pg-main\": type is unspecified",
                  "target \"pg-main\": port 70000 is above 65535",
                  "job \"nightly\": cron: cron field 'day-of-week' (value \"5-1\"): range 5-1 is "
                  "reversed (start 5 is after end 1)",
                  "job \"nightly\": compression \"lz4\" is not one of zstd, gzip, none",
                  "job \"hourly-redis\": target_id \"nope\" does not exist",
                  "health check \"db\": tcp target \"db.internal\" is not host:port",
                  "maintenance window: end_utc \"3:00\" is not HH:MM",
                  "advanced settings: log_level \"loud\" is not one of trace, debug, info, warn, "
                  "warning, error"));
}

TEST(SnapshotValidationTest, EchoedValuesAreEscapedAndCut) {
  auto config = valid_config();
  config.mutable_jobs(0)->set_target_id("pg\"main\nx\\");
  config.mutable_jobs(1)->set_target_id(std::string(70, 'a'));
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": target_id \"pg\\\"main\\x0ax\\\\\" does not exist",
                          "job \"server-scheduled\": target_id \"" + std::string(64, 'a') +
                              "...\" does not exist"));
}

TEST(SnapshotValidationTest, LongCutsNeverSplitUtf8) {
  auto config = valid_config();
  // 63 ASCII bytes then a two-byte character straddling the 64-byte cut.
  config.mutable_jobs(0)->set_target_id(std::string(63, 'a') + "\xc3\xa9zz");
  EXPECT_THAT(
      validate_snapshot(config),
      ElementsAre("job \"nightly\": target_id \"" + std::string(63, 'a') + "...\" does not exist"));
}

TEST(SnapshotValidationTest, ProblemsAreCappedInLength) {
  auto config = valid_config();
  config.mutable_jobs(0)->set_cron(std::string(2000, '1') + " * * * *");
  const auto problems = validate_snapshot(config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].size(), 515u);  // 512 bytes and "..."
  EXPECT_TRUE(problems[0].starts_with("job \"nightly\": cron: cron field 'minute' (value \"111"));
}

TEST(SummarizeProblemsTest, EmptyGivesEmptyLine) {
  EXPECT_EQ(summarize_problems({}), "");
}

TEST(SummarizeProblemsTest, JoinsUpToFive) {
  EXPECT_EQ(summarize_problems({"a"}), "a");
  EXPECT_EQ(summarize_problems({"a", "b", "c", "d", "e"}), "a; b; c; d; e");
}

TEST(SummarizeProblemsTest, CountsTheRest) {
  EXPECT_EQ(summarize_problems({"a", "b", "c", "d", "e", "f"}), "a; b; c; d; e; and 1 more");
  EXPECT_EQ(summarize_problems({"a", "b", "c", "d", "e", "f", "g", "h"}),
            "a; b; c; d; e; and 3 more");
}

TEST(SummarizeProblemsTest, SummarizesARealReport) {
  auto config = valid_config();
  config.mutable_jobs(0)->set_target_id("x");
  config.mutable_advanced()->set_max_parallel_jobs(100);
  EXPECT_EQ(summarize_problems(validate_snapshot(config)),
            "job \"nightly\": target_id \"x\" does not exist; advanced settings: "
            "max_parallel_jobs 100 is above the limit of 64");
}

}  // namespace
}  // namespace backupy::config
