#pragma once
// A complete, valid AgentConfig that tests break one rule at a time.
#include "backup/v1/agent.pb.h"

namespace backupy::config::testing {

inline backup::v1::AgentConfig valid_config() {
  using namespace backup::v1;
  AgentConfig config;
  config.set_version(7);

  Target* pg = config.add_targets();
  pg->set_id("pg-main");
  pg->set_type(POSTGRESQL);
  pg->set_display_name("Main Postgres");
  pg->mutable_connection()->set_host("db.internal");
  pg->mutable_connection()->set_port(5432);
  pg->mutable_connection()->set_database("app");
  pg->mutable_connection()->set_username("backup");
  pg->mutable_connection()->set_password_secret_ref("pg-password-1");
  pg->mutable_connection()->set_strategy(TCP);

  Target* mysql = config.add_targets();
  mysql->set_id("mysql-docker");
  mysql->set_type(MYSQL);
  mysql->mutable_connection()->set_container_id("4f2a9c");
  mysql->mutable_connection()->set_strategy(DOCKER_EXEC);

  Target* redis = config.add_targets();
  redis->set_id("redis-sock");
  redis->set_type(REDIS);
  redis->mutable_connection()->set_strategy(UNIX_SOCKET);  // empty host: default socket

  Target* sqlite = config.add_targets();
  sqlite->set_id("sqlite");
  sqlite->set_type(SQLITE);
  sqlite->mutable_connection()->set_database("/var/lib/app/app.db");

  BackupJobSpec* nightly = config.add_jobs();
  nightly->set_id("nightly");
  nightly->set_target_id("pg-main");
  nightly->set_cron("0 3 * * *");
  nightly->set_retention_days(30);
  nightly->set_compression("zstd");
  nightly->set_encryption_enabled(true);
  nightly->add_pre_hooks("echo start");
  nightly->add_post_hooks("echo done");
  nightly->mutable_retry()->set_max_attempts(3);
  nightly->mutable_retry()->add_backoff_seconds(30);
  nightly->mutable_retry()->add_backoff_seconds(120);
  nightly->set_timeout_sec(3600);

  BackupJobSpec* server_scheduled = config.add_jobs();
  server_scheduled->set_id("server-scheduled");
  server_scheduled->set_target_id("mysql-docker");  // empty cron and compression: v1 defaults

  BackupJobSpec* hourly = config.add_jobs();
  hourly->set_id("hourly-redis");
  hourly->set_target_id("redis-sock");
  hourly->set_cron("@hourly");
  hourly->set_compression("gzip");

  BackupJobSpec* weekly = config.add_jobs();
  weekly->set_id("weekly-sqlite");
  weekly->set_target_id("sqlite");
  weekly->set_cron("30 0 4 * * SUN");
  weekly->set_compression("none");

  HealthCheckSpec* web = config.add_health_checks();
  web->set_id("web");
  web->set_name("Web app");
  web->set_type(HTTP);
  web->set_target("http://app.internal:8080/health");
  web->set_interval_sec(30);
  web->set_timeout_sec(5);
  web->set_expected_status(200);

  HealthCheckSpec* api = config.add_health_checks();
  api->set_id("api");
  api->set_type(HTTPS);
  api->set_target("https://api.example.com/healthz");

  HealthCheckSpec* db = config.add_health_checks();
  db->set_id("db");
  db->set_type(TCP_CHECK);
  db->set_target("db.internal:5432");

  HealthCheckSpec* v6 = config.add_health_checks();
  v6->set_id("cache-v6");
  v6->set_type(TCP_CHECK);
  v6->set_target("[::1]:6379");

  config.mutable_maintenance()->set_start_utc("01:00");
  config.mutable_maintenance()->set_end_utc("03:00");
  config.mutable_advanced()->set_log_level("warning");
  config.mutable_advanced()->set_max_parallel_jobs(4);
  config.mutable_advanced()->set_auto_update_enabled(true);
  return config;
}

}  // namespace backupy::config::testing
