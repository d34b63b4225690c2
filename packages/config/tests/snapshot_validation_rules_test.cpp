// One failing case per rule, each asserting the exact problem line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backupy/config/snapshot_validation.hpp"
#include "snapshot_validation_test_support.hpp"

namespace backupy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::valid_config;

backup::v1::Target& target(backup::v1::AgentConfig& config, int i) {
  return *config.mutable_targets(i);
}
backup::v1::BackupJobSpec& job(backup::v1::AgentConfig& config, int i) {
  return *config.mutable_jobs(i);
}
backup::v1::HealthCheckSpec& check(backup::v1::AgentConfig& config, int i) {
  return *config.mutable_health_checks(i);
}

// The problems for one health-check target of the given type.
std::vector<std::string> check_target_problems(backup::v1::CheckType type,
                                               const std::string& target) {
  auto config = valid_config();
  check(config, 0).set_type(type);
  check(config, 0).set_target(target);
  return validate_snapshot(config);
}

// ------------------------------------------------------------------ ids --

TEST(SnapshotIdRulesTest, EmptyIdsAreNamedByPosition) {
  auto config = valid_config();
  target(config, 1).set_id("");
  job(config, 0).set_id("");
  check(config, 2).set_id("");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("targets[1]: id is empty", "jobs[0]: id is empty",
                          "job \"server-scheduled\": target_id \"mysql-docker\" does not exist",
                          "health_checks[2]: id is empty"));
}

TEST(SnapshotIdRulesTest, DuplicateIdsAreReportedOncePerKind) {
  auto config = valid_config();
  target(config, 1).set_id("pg-main");
  target(config, 2).set_id("pg-main");
  job(config, 3).set_id("nightly");
  check(config, 1).set_id("web");
  // Jobs pointing at the renamed targets now dangle.
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("duplicate target id \"pg-main\"",
                          "job \"server-scheduled\": target_id \"mysql-docker\" does not exist",
                          "job \"hourly-redis\": target_id \"redis-sock\" does not exist",
                          "duplicate job id \"nightly\"", "duplicate health check id \"web\""));
}

TEST(SnapshotIdRulesTest, SameIdInDifferentKindsIsFine) {
  auto config = valid_config();
  job(config, 0).set_id("pg-main");
  check(config, 0).set_id("pg-main");
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
}

// -------------------------------------------------------------- targets --

TEST(SnapshotTargetRulesTest, TypeMustBeSpecifiedAndKnown) {
  auto config = valid_config();
  target(config, 0).set_type(backup::v1::DB_UNSPECIFIED);
  target(config, 1).set_type(static_cast<backup::v1::DbType>(42));
  EXPECT_THAT(validate_snapshot(config), ElementsAre("target \"pg-main\": type is unspecified",
                                                     "target \"mysql-docker\": unknown type 42"));
}

TEST(SnapshotTargetRulesTest, PortAbove65535) {
  auto config = valid_config();
  target(config, 0).mutable_connection()->set_port(65536);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("target \"pg-main\": port 65536 is above 65535"));
}

TEST(SnapshotTargetRulesTest, UnknownConnectionStrategy) {
  auto config = valid_config();
  target(config, 0).mutable_connection()->set_strategy(
      static_cast<backup::v1::ConnectionStrategy>(9));
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("target \"pg-main\": unknown connection strategy 9"));
}

TEST(SnapshotTargetRulesTest, DockerExecNeedsContainerId) {
  auto config = valid_config();
  target(config, 1).mutable_connection()->clear_container_id();
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("target \"mysql-docker\": docker_exec strategy needs a container_id"));
}

// ----------------------------------------------------------------- jobs --

TEST(SnapshotJobRulesTest, TargetMustExist) {
  auto config = valid_config();
  job(config, 0).set_target_id("pg-other");
  job(config, 1).clear_target_id();
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": target_id \"pg-other\" does not exist",
                          "job \"server-scheduled\": target_id is empty"));
}

TEST(SnapshotJobRulesTest, NonEmptyCronMustParse) {
  auto config = valid_config();
  job(config, 0).set_cron("0 25 * * *");
  job(config, 2).set_cron("CRON_TZ=Mars/Olympus 0 3 * * *");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": cron: cron field 'hour' (value \"25\"): 25 is out of "
                          "range 0-23",
                          "job \"hourly-redis\": cron: CRON_TZ \"Mars/Olympus\" is not a known "
                          "time zone"));
}

TEST(SnapshotJobRulesTest, CronInATimeZoneIsValid) {
  auto config = valid_config();
  job(config, 0).set_cron("CRON_TZ=Europe/Berlin 30 2 * * *");
  job(config, 2).set_cron("CRON_TZ=America/New_York @hourly");
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
}

TEST(SnapshotJobRulesTest, CompressionMustBeKnown) {
  auto config = valid_config();
  job(config, 0).set_compression("lz4");
  job(config, 2).set_compression("ZSTD");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": compression \"lz4\" is not one of zstd, gzip, none",
                          "job \"hourly-redis\": compression \"ZSTD\" is not one of zstd, gzip, "
                          "none"));
}

TEST(SnapshotJobRulesTest, RetryLimits) {
  auto config = valid_config();
  job(config, 0).mutable_retry()->set_max_attempts(101);
  job(config, 0).mutable_retry()->set_backoff_seconds(1, 86401);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": retry.max_attempts 101 is above the limit of 100",
                          "job \"nightly\": retry.backoff_seconds[1] 86401 is above the limit of "
                          "86400"));
}

TEST(SnapshotJobRulesTest, TimeoutAtMostSevenDays) {
  auto config = valid_config();
  job(config, 0).set_timeout_sec(7 * 86400 + 1);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": timeout_sec 604801 is above the limit of 604800 (7 "
                          "days)"));
}

TEST(SnapshotJobRulesTest, HooksMustBeNonEmptyAndShort) {
  auto config = valid_config();
  job(config, 0).add_pre_hooks("");
  job(config, 0).add_pre_hooks(" \t ");
  job(config, 0).set_post_hooks(0, std::string(4096, 'x'));
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": pre_hooks[1] is empty",
                          "job \"nightly\": pre_hooks[2] is empty",
                          "job \"nightly\": post_hooks[0] is 4096 bytes long; the limit is 4095"));
}

// -------------------------------------------------------- health checks --

TEST(SnapshotHealthCheckRulesTest, TypeMustBeKnown) {
  auto config = valid_config();
  check(config, 0).set_type(static_cast<backup::v1::CheckType>(7));
  EXPECT_THAT(validate_snapshot(config), ElementsAre("health check \"web\": unknown type 7"));
  check(config, 0).clear_target();
  EXPECT_THAT(validate_snapshot(config), ElementsAre("health check \"web\": unknown type 7",
                                                     "health check \"web\": target is empty"));
}

TEST(SnapshotHealthCheckRulesTest, TargetMustBeSet) {
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, ""),
              ElementsAre("health check \"web\": target is empty"));
}

TEST(SnapshotHealthCheckRulesTest, HttpTargetIsAnHttpOrHttpsUrl) {
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, "https://app.internal/health"), IsEmpty());
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, "HTTP://App.Internal"), IsEmpty());
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, "app.internal/health"),
              ElementsAre("health check \"web\": http target \"app.internal/health\" must start "
                          "with http:// or https://"));
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, "http://"),
              ElementsAre("health check \"web\": http target \"http://\" has no host"));
  EXPECT_THAT(check_target_problems(backup::v1::HTTP, "http:///health"),
              ElementsAre("health check \"web\": http target \"http:///health\" has no host"));
}

TEST(SnapshotHealthCheckRulesTest, HttpsTargetIsAnHttpsUrl) {
  EXPECT_THAT(check_target_problems(backup::v1::HTTPS, "http://api.example.com"),
              ElementsAre("health check \"web\": https target \"http://api.example.com\" must "
                          "start with https://"));
  EXPECT_THAT(check_target_problems(backup::v1::HTTPS, "https://:443/x"),
              ElementsAre("health check \"web\": https target \"https://:443/x\" has no host"));
}

TEST(SnapshotHealthCheckRulesTest, TcpTargetIsHostColonPort) {
  EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, "10.0.0.5:1"), IsEmpty());
  EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, "[fe80::1]:65535"), IsEmpty());
  for (const char* bad :
       {"db.internal", "db:", ":5432", "db:abc", "[::1]", "[]:5432", "[::1]5432", "db :5432"}) {
    EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, bad),
                ElementsAre("health check \"web\": tcp target \"" + std::string(bad) +
                            "\" is not host:port"))
        << bad;
  }
  // Credentials are never echoed, even in a malformed target.
  EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, "user:pw@db:5432"),
              ElementsAre("health check \"web\": tcp target \"[REDACTED]@db:5432\" is not "
                          "host:port"));
  EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, "::1:5432"),
              ElementsAre("health check \"web\": tcp target \"::1:5432\" is not host:port (write "
                          "ipv6 addresses as [::1]:5432)"));
  for (const char* bad : {"db:0", "db:65536", "db:99999999999"}) {
    EXPECT_THAT(check_target_problems(backup::v1::TCP_CHECK, bad),
                ElementsAre("health check \"web\": tcp target \"" + std::string(bad) +
                            "\" has a port outside 1-65535"))
        << bad;
  }
}

TEST(SnapshotHealthCheckRulesTest, TimeoutAtMostIntervalWhenBothSet) {
  auto config = valid_config();
  check(config, 0).set_timeout_sec(31);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("health check \"web\": timeout_sec 31 is above interval_sec 30"));
  check(config, 0).set_timeout_sec(30);
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
  check(config, 0).set_interval_sec(0);  // default interval
  check(config, 0).set_timeout_sec(300);
  EXPECT_THAT(validate_snapshot(config), IsEmpty());
}

TEST(SnapshotHealthCheckRulesTest, ExpectedStatusIsZeroOrAnHttpStatus) {
  auto config = valid_config();
  check(config, 0).set_expected_status(99);
  check(config, 1).set_expected_status(600);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("health check \"web\": expected_status 99 is not 0 or 100-599",
                          "health check \"api\": expected_status 600 is not 0 or 100-599"));
}

// ----------------------------------------------------- singleton sections --

TEST(SnapshotMaintenanceRulesTest, TimesMustBeHhMm) {
  auto config = valid_config();
  config.mutable_maintenance()->set_start_utc("25:00");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("maintenance window: start_utc \"25:00\" is not HH:MM"));
  for (const char* bad : {"1:00", "01:60", "0100", " 01:00", "01:00Z", "24:00", "ab:cd"}) {
    config.mutable_maintenance()->set_start_utc("01:00");
    config.mutable_maintenance()->set_end_utc(bad);
    EXPECT_THAT(validate_snapshot(config), ElementsAre("maintenance window: end_utc \"" +
                                                       std::string(bad) + "\" is not HH:MM"))
        << bad;
  }
}

TEST(SnapshotMaintenanceRulesTest, BothTimesOrNeither) {
  auto config = valid_config();
  config.mutable_maintenance()->clear_end_utc();
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("maintenance window: end_utc is empty but start_utc is set"));
  config.mutable_maintenance()->clear_start_utc();
  config.mutable_maintenance()->set_end_utc("bad");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("maintenance window: start_utc is empty but end_utc is set",
                          "maintenance window: end_utc \"bad\" is not HH:MM"));
}

TEST(SnapshotMaintenanceRulesTest, EqualStartAndEndIsAmbiguous) {
  auto config = valid_config();
  config.mutable_maintenance()->set_start_utc("02:00");
  config.mutable_maintenance()->set_end_utc("02:00");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("maintenance window: start_utc and end_utc are both \"02:00\"; an "
                          "empty window is ambiguous"));
}

TEST(SnapshotAdvancedRulesTest, LogLevelMustBeKnown) {
  auto config = valid_config();
  config.mutable_advanced()->set_log_level("verbose");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("advanced settings: log_level \"verbose\" is not one of trace, debug, "
                          "info, warn, warning, error"));
  config.mutable_advanced()->set_log_level("INFO");  // same vocabulary as BACKUPY_LOG_LEVEL
  EXPECT_EQ(validate_snapshot(config).size(), 1u);
}

TEST(SnapshotAdvancedRulesTest, AtMost64ParallelJobs) {
  auto config = valid_config();
  config.mutable_advanced()->set_max_parallel_jobs(65);
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("advanced settings: max_parallel_jobs 65 is above the limit of 64"));
}

TEST(SnapshotAdvancedRulesTest, JitterAtMostADay) {
  auto config = valid_config();
  config.mutable_advanced()->set_schedule_jitter_sec(86400);
  EXPECT_TRUE(validate_snapshot(config).empty());
  config.mutable_advanced()->set_schedule_jitter_sec(86401);
  EXPECT_THAT(
      validate_snapshot(config),
      ElementsAre("advanced settings: schedule_jitter_sec 86401 is above the limit of 86400"));
}

TEST(SnapshotKeyWrappingRulesTest, AbsentOrAnIdAndA32ByteKey) {
  auto config = valid_config();
  EXPECT_TRUE(validate_snapshot(config).empty());  // v1 servers publish none
  config.mutable_key_wrapping()->set_key_id("x25519-0011223344556677");
  config.mutable_key_wrapping()->set_x25519_public_key(std::string(32, '\x09'));
  EXPECT_TRUE(validate_snapshot(config).empty());
  config.mutable_key_wrapping()->set_key_id("");
  config.mutable_key_wrapping()->set_x25519_public_key(std::string(31, '\x09'));
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("key_wrapping: key_id is empty",
                          "key_wrapping: x25519_public_key has 31 bytes; an X25519 public key has "
                          "32"));
}

}  // namespace
}  // namespace backupy::config
