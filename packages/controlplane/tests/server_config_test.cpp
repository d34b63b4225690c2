#include "backupy/controlplane/server_config.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "backupy/core/redactor.hpp"
#include "test_support.hpp"

namespace backupy::controlplane {
namespace {

using namespace testing;  // the shared helpers of test_support.hpp
using ErrorCase = ConfigErrorCase;

class ServerConfigTest : public ConfigDirTest<> {
 protected:
  ServerConfig parse(std::string_view yaml) {
    return parse_server_config(yaml, "cp.yaml", dir_.path());
  }
};

// The base document of the validation cases; line numbers matter.
std::vector<std::string> base_lines() {
  return {
      R"(listen: "127.0.0.1:0")",                                                // 1
      R"(tls:)",                                                                 // 2
      R"(  cert_file: server.crt)",                                              // 3
      R"(  key_file: server.key)",                                               // 4
      R"(agents:)",                                                              // 5
      R"(  - id: agent-1)",                                                      // 6
      std::string(R"(    key_sha256: ")") + std::string(kKeyAHash) + "\"",       // 7
      R"(    config:)",                                                          // 8
      R"(      version: 1)",                                                     // 9
      R"(      targets:)",                                                       // 10
      R"(        - id: pg1)",                                                    // 11
      R"(          type: postgresql)",                                           // 12
      R"(          connection: {host: db, port: 5432, password: "pw-123456"})",  // 13
      R"(      jobs:)",                                                          // 14
      R"(        - {id: nightly, target_id: pg1, cron: "0 3 * * *"})",           // 15
  };
}

TEST_F(ServerConfigTest, BaseDocumentIsValid) {
  const ServerConfig config = parse(join_lines(base_lines()));
  ASSERT_EQ(config.agents.size(), 1u);
  EXPECT_EQ(config.agents[0].config.jobs(0).target_id(), "pg1");
}

TEST_F(ServerConfigTest, AnEmptyOrAbsentCronMakesAManualOnlyJob) {
  std::vector<std::string> lines = base_lines();
  set_line(lines, 15, R"(        - {id: nightly, target_id: pg1, cron: ""})");
  EXPECT_EQ(parse(join_lines(lines)).agents[0].config.jobs(0).cron(), "");
  set_line(lines, 15, R"(        - {id: nightly, target_id: pg1})");
  EXPECT_EQ(parse(join_lines(lines)).agents[0].config.jobs(0).cron(), "");
}

TEST_F(ServerConfigTest, ACronWithATimeZoneIsKeptAsWritten) {
  std::vector<std::string> lines = base_lines();
  set_line(lines, 15,
           R"(        - {id: nightly, target_id: pg1, cron: "CRON_TZ=Europe/Berlin 30 2 * * *"})");
  EXPECT_EQ(parse(join_lines(lines)).agents[0].config.jobs(0).cron(),
            "CRON_TZ=Europe/Berlin 30 2 * * *");
}

TEST_F(ServerConfigTest, DevModeNeedsNoTlsSectionAndLeavesTheFilesToTheCaller) {
  std::vector<std::string> lines = base_lines();
  lines.erase(lines.begin() + 1, lines.begin() + 4);
  const ServerConfig config =
      parse_server_config(join_lines(lines), "cp.yaml", dir_.path(), TlsSource::dev);
  EXPECT_TRUE(config.tls.cert_file.empty());
  EXPECT_TRUE(config.tls.key_file.empty());
  ASSERT_EQ(config.agents.size(), 1u);
}

TEST_F(ServerConfigTest, DevModeRefusesATlsSection) {
  try {
    parse_server_config(join_lines(base_lines()), "cp.yaml", dir_.path(), TlsSource::dev);
    FAIL() << "a tls: section was accepted with --dev";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cp.yaml:2: tls must not be given with serve --dev (dev mode generates its own "
              "certificate in dev-tls/ beside this file): remove the section or serve without "
              "--dev");
    EXPECT_EQ(e.line(), 2);
  }
}

TEST_F(ServerConfigTest, ParsesTheFullExample) {
  std::filesystem::copy_file(BACKUPY_CONFIG_EXAMPLE, dir_.path() / "cp.yaml");
  const ServerConfig config = load_server_config(dir_.path() / "cp.yaml");

  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8443);
  EXPECT_EQ(config.tls.cert_file, dir_.path() / "server.crt");
  EXPECT_EQ(config.tls.key_file, dir_.path() / "server.key");
  EXPECT_EQ(config.heartbeat_interval_sec, 30u);
  EXPECT_EQ(config.ping_interval_sec, 30u);
  EXPECT_EQ(config.idle_timeout_sec, 90u);
  EXPECT_EQ(config.max_message_bytes, 4194304u);
  EXPECT_TRUE(config.delivery_ack);
  ASSERT_EQ(config.agents.size(), 1u);

  const AgentEntry& agent = config.agents[0];
  EXPECT_EQ(agent.id, "agent-1");
  EXPECT_EQ(agent.key_sha256, kKeyAHash);
  const backup::v1::AgentConfig& ac = agent.config;
  EXPECT_EQ(ac.version(), 3u);

  ASSERT_EQ(ac.targets_size(), 1);
  const backup::v1::Target& target = ac.targets(0);
  EXPECT_EQ(target.id(), "pg1");
  EXPECT_EQ(target.type(), backup::v1::POSTGRESQL);
  EXPECT_EQ(target.display_name(), "Main DB");
  EXPECT_EQ(target.connection().host(), "db");
  EXPECT_EQ(target.connection().port(), 5432u);
  EXPECT_EQ(target.connection().database(), "app");
  EXPECT_EQ(target.connection().username(), "backup");
  EXPECT_EQ(target.connection().password_secret_ref(), "s3cret");
  EXPECT_EQ(target.connection().container_id(), "");
  EXPECT_EQ(target.connection().strategy(), backup::v1::TCP);

  ASSERT_EQ(ac.jobs_size(), 1);
  const backup::v1::BackupJobSpec& job = ac.jobs(0);
  EXPECT_EQ(job.id(), "nightly");
  EXPECT_EQ(job.target_id(), "pg1");
  EXPECT_EQ(job.cron(), "0 3 * * *");
  EXPECT_EQ(job.retention_days(), 7u);
  EXPECT_EQ(job.compression(), "zstd");
  EXPECT_TRUE(job.encryption_enabled());
  EXPECT_EQ(job.pre_hooks_size(), 0);
  EXPECT_EQ(job.post_hooks_size(), 0);
  EXPECT_EQ(job.retry().max_attempts(), 3u);
  ASSERT_EQ(job.retry().backoff_seconds_size(), 2);
  EXPECT_EQ(job.retry().backoff_seconds(0), 10u);
  EXPECT_EQ(job.retry().backoff_seconds(1), 60u);
  EXPECT_EQ(job.timeout_sec(), 3600u);

  ASSERT_EQ(ac.health_checks_size(), 1);
  const backup::v1::HealthCheckSpec& check = ac.health_checks(0);
  EXPECT_EQ(check.id(), "web");
  EXPECT_EQ(check.name(), "Website");
  EXPECT_EQ(check.type(), backup::v1::HTTPS);
  EXPECT_EQ(check.target(), "https://example.com");
  EXPECT_EQ(check.interval_sec(), 60u);
  EXPECT_EQ(check.timeout_sec(), 5u);
  EXPECT_EQ(check.expected_status(), 200u);

  EXPECT_EQ(ac.maintenance().start_utc(), "01:00");
  EXPECT_EQ(ac.maintenance().end_utc(), "02:00");
  EXPECT_EQ(ac.advanced().max_parallel_jobs(), 1u);
  EXPECT_EQ(ac.advanced().log_level(), "info");
  EXPECT_FALSE(ac.advanced().auto_update_enabled());

  ASSERT_EQ(config.admin_token_sha256.size(), 1u);
  EXPECT_EQ(config.admin_token_sha256[0], kKeyBHash);
  // The example uses the embedded store (its s3 variant is commented out).
  ASSERT_TRUE(config.storage);
  EXPECT_EQ(config.storage->type, StorageType::local);
  EXPECT_EQ(config.storage->dir, dir_.path() / "objects");
  EXPECT_TRUE(config.storage->public_url.empty());
  EXPECT_EQ(config.storage->url_ttl_sec, 3600u);
  EXPECT_TRUE(config.token_signing_key.empty());
  EXPECT_EQ(config.scheduling.max_waiting_runs_per_agent, 16u);
  EXPECT_EQ(config.scheduling.waiting_run_ttl_sec, 86400u);
}

TEST_F(ServerConfigTest, AppliesDefaults) {
  const ServerConfig config = parse(
      "tls: {cert_file: server.crt, key_file: server.key}\n"
      "agents:\n"
      "  - id: a\n"
      "    key_sha256: \"" +
      std::string(kKeyAHash) +
      "\"\n"
      "    config:\n"
      "      targets: [{id: t, type: redis, connection: {}}]\n"
      "      jobs: [{id: j, target_id: t, cron: \"@daily\"}]\n"
      "      health_checks: [{id: h, type: tcp, target: \"db:5432\"},"
      " {id: w, type: http, target: \"http://x\"}]\n");
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8443);
  EXPECT_EQ(config.heartbeat_interval_sec, 30u);
  EXPECT_EQ(config.ping_interval_sec, 30u);
  EXPECT_EQ(config.idle_timeout_sec, 90u);
  EXPECT_EQ(config.max_message_bytes, kMinMessageBytes);
  EXPECT_TRUE(config.delivery_ack);
  const backup::v1::AgentConfig& ac = config.agents.at(0).config;
  EXPECT_EQ(ac.version(), 0u);
  EXPECT_EQ(ac.targets(0).connection().strategy(), backup::v1::TCP);
  EXPECT_EQ(ac.jobs(0).compression(), "zstd");
  EXPECT_TRUE(ac.jobs(0).encryption_enabled());
  EXPECT_EQ(ac.health_checks(0).type(), backup::v1::TCP_CHECK);
  EXPECT_EQ(ac.health_checks(0).expected_status(), 0u);
  EXPECT_EQ(ac.health_checks(1).expected_status(), 200u);
  EXPECT_EQ(ac.health_checks(0).interval_sec(), 60u);
  EXPECT_EQ(ac.advanced().max_parallel_jobs(), 1u);
  EXPECT_EQ(ac.advanced().log_level(), "info");
  EXPECT_FALSE(ac.has_maintenance());
}

TEST_F(ServerConfigTest, AgentWithoutConfigGetsAnEmptyOne) {
  const ServerConfig config = parse(
      "tls: {cert_file: server.crt, key_file: server.key}\n"
      "agents: [{id: a, key_sha256: \"" +
      std::string(kKeyAHash) + "\"}]\n");
  EXPECT_EQ(config.agents.at(0).config.targets_size(), 0);
  EXPECT_EQ(config.agents.at(0).config.version(), 0u);
}

TEST_F(ServerConfigTest, NormalizesUppercaseKeyHashes) {
  std::string upper(kKeyAHash);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const ServerConfig config = parse(
      "tls: {cert_file: server.crt, key_file: server.key}\n"
      "agents: [{id: a, key_sha256: \"" +
      upper + "\"}]\n");
  EXPECT_EQ(config.agents.at(0).key_sha256, kKeyAHash);
}

TEST_F(ServerConfigTest, ParsesListenForms) {
  const std::string tls = "tls: {cert_file: server.crt, key_file: server.key}\n";
  ServerConfig config = parse("listen: \"[::1]:9443\"\n" + tls);
  EXPECT_EQ(config.listen_host, "::1");
  EXPECT_EQ(config.listen_port, 9443);
  config = parse("listen: \"0.0.0.0:0\"\n" + tls);
  EXPECT_EQ(config.listen_host, "0.0.0.0");
  EXPECT_EQ(config.listen_port, 0);
  config = parse("listen: localhost:1234\n" + tls);
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 1234);
}

TEST_F(ServerConfigTest, ResolvesRelativeTlsPathsAgainstTheYamlFile) {
  const std::filesystem::path sub = dir_.path() / "etc" / "cp";
  std::filesystem::create_directories(sub);
  std::filesystem::create_directories(dir_.path() / "pki");
  write_text(dir_.path() / "pki" / "s.crt", "cert");
  write_text(sub / "s.key", "key");
  write_text(sub / "cp.yaml", "tls:\n  cert_file: ../../pki/s.crt\n  key_file: s.key\n");
  const ServerConfig config = load_server_config(sub / "cp.yaml");
  EXPECT_EQ(config.tls.cert_file, dir_.path() / "pki" / "s.crt");
  EXPECT_EQ(config.tls.key_file, sub / "s.key");

  // Absolute paths stay as they are.
  write_text(sub / "abs.yaml", "tls:\n  cert_file: " + (dir_.path() / "server.crt").string() +
                                   "\n  key_file: " + (dir_.path() / "server.key").string() + "\n");
  const ServerConfig absolute = load_server_config(sub / "abs.yaml");
  EXPECT_EQ(absolute.tls.cert_file, dir_.path() / "server.crt");
}

TEST_F(ServerConfigTest, MissingFileIsAConfigError) {
  try {
    load_server_config(dir_.path() / "nope.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir_.path() / "nope.yaml").string() + ": cannot read: No such file or directory");
  }
}

TEST_F(ServerConfigTest, ConvertsEveryEnum) {
  std::string yaml =
      "tls: {cert_file: server.crt, key_file: server.key}\n"
      "agents:\n  - id: a\n    key_sha256: \"" +
      std::string(kKeyAHash) +
      "\"\n    config:\n"
      "      targets:\n";
  const char* types[] = {"postgresql", "mysql", "mariadb", "mongodb", "redis", "sqlite"};
  const char* strategies[] = {"tcp", "docker_exec", "unix_socket", "tcp", "tcp", "tcp"};
  for (int i = 0; i < 6; ++i) {
    yaml += "        - {id: t" + std::to_string(i) + ", type: " + types[i] +
            ", connection: {strategy: " + strategies[i] + "}}\n";
  }
  yaml +=
      "      health_checks:\n"
      "        - {id: a, type: http, target: x}\n"
      "        - {id: b, type: https, target: x}\n"
      "        - {id: c, type: tcp, target: x}\n"
      "      advanced: {log_level: debug, max_parallel_jobs: 4, auto_update_enabled: true}\n";
  const backup::v1::AgentConfig ac = parse(yaml).agents.at(0).config;
  const backup::v1::DbType expected_types[] = {backup::v1::POSTGRESQL, backup::v1::MYSQL,
                                               backup::v1::MARIADB,    backup::v1::MONGODB,
                                               backup::v1::REDIS,      backup::v1::SQLITE};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(ac.targets(i).type(), expected_types[i]);
  EXPECT_EQ(ac.targets(0).connection().strategy(), backup::v1::TCP);
  EXPECT_EQ(ac.targets(1).connection().strategy(), backup::v1::DOCKER_EXEC);
  EXPECT_EQ(ac.targets(2).connection().strategy(), backup::v1::UNIX_SOCKET);
  EXPECT_EQ(ac.health_checks(0).type(), backup::v1::HTTP);
  EXPECT_EQ(ac.health_checks(1).type(), backup::v1::HTTPS);
  EXPECT_EQ(ac.health_checks(2).type(), backup::v1::TCP_CHECK);
  EXPECT_EQ(ac.advanced().log_level(), "debug");
  EXPECT_EQ(ac.advanced().max_parallel_jobs(), 4u);
  EXPECT_TRUE(ac.advanced().auto_update_enabled());
}

TEST_F(ServerConfigTest, RegistersPasswordsWithTheRedactor) {
  parse(join_lines(base_lines()));
  EXPECT_EQ(core::redact("dsn password pw-123456 leaked"), "dsn password [REDACTED] leaked");
}

// ------------------------------------------------------------------ validation errors --

const std::string kHash(kKeyAHash);

std::vector<ErrorCase> error_cases() {
  return {
      {"ShortKeyHash", [](auto& l) { set_line(l, 7, R"(    key_sha256: "abc123")"); },
       "cp.yaml:7: agents[0].key_sha256 must be 64 hex characters"},
      {"NonHexKeyHash",
       [](auto& l) { set_line(l, 7, "    key_sha256: \"" + std::string(64, 'g') + "\""); },
       "cp.yaml:7: agents[0].key_sha256 must be 64 hex characters"},
      {"UnknownTopLevelKey", [](auto& l) { set_line(l, 1, R"(listne: "127.0.0.1:0")"); },
       "cp.yaml:1: listne is not a known key (expected one of: listen, tls, "
       "heartbeat_interval_sec, ping_interval_sec, idle_timeout_sec, max_message_bytes, "
       "delivery_ack, agents, admin, storage, token_signing_key_file, scheduling, catalog_file, "
       "master_key_file)"},
      {"UnknownNestedKey",
       [](auto& l) {
         set_line(l, 13, R"(          connection: {host: db, port: 5432, pasword: "pw-123456"})");
       },
       "cp.yaml:13: agents[0].config.targets[0].connection.pasword is not a known key (expected "
       "one of: host, port, database, username, password, container_id, strategy)"},
      {"UnknownAgentKey", [](auto& l) { set_line(l, 8, "    confg:"); },
       "cp.yaml:8: agents[0].confg is not a known key (expected one of: id, key_sha256, config)"},
      {"DuplicateKey", [](auto& l) { l.insert(l.begin() + 1, R"(listen: "127.0.0.1:1")"); },
       "cp.yaml:2: listen is given more than once"},
      {"IntervalNotANumber", [](auto& l) { l.insert(l.begin() + 1, "ping_interval_sec: often"); },
       "cp.yaml:2: ping_interval_sec must be an integer between 1 and 86400"},
      {"IntervalZero", [](auto& l) { l.insert(l.begin() + 1, "idle_timeout_sec: 0"); },
       "cp.yaml:2: idle_timeout_sec must be an integer between 1 and 86400"},
      {"NegativeNumber", [](auto& l) { l.insert(l.begin() + 1, "heartbeat_interval_sec: -5"); },
       "cp.yaml:2: heartbeat_interval_sec must be an integer between 1 and 86400"},
      {"MessageLimitTooSmall", [](auto& l) { l.insert(l.begin() + 1, "max_message_bytes: 1024"); },
       "cp.yaml:2: max_message_bytes must be an integer between 4194304 and 1073741824"},
      {"BoolNotABool", [](auto& l) { l.insert(l.begin() + 1, "delivery_ack: maybe"); },
       "cp.yaml:2: delivery_ack must be true or false"},
      {"QuotedNumber",
       [](auto& l) {
         set_line(l, 13,
                  R"(          connection: {host: db, port: "5432", password: "pw-123456"})");
       },
       "cp.yaml:13: agents[0].config.targets[0].connection.port must be an integer between 0 and "
       "65535"},
      {"PortOutOfRange",
       [](auto& l) {
         set_line(l, 13, R"(          connection: {host: db, port: 65536, password: "pw-123456"})");
       },
       "cp.yaml:13: agents[0].config.targets[0].connection.port must be an integer between 0 and "
       "65535"},
      {"StringGivenAList", [](auto& l) { set_line(l, 11, "        - id: [pg1]"); },
       "cp.yaml:11: agents[0].config.targets[0].id must be a string"},
      {"AgentsNotAList",
       [](auto& l) {
         l.resize(4);
         l.push_back("agents: {id: x}");
       },
       "cp.yaml:5: agents must be a list"},
      {"DuplicateAgentId",
       [](auto& l) {
         l.push_back("  - id: agent-1");
         l.push_back("    key_sha256: \"" + std::string(kKeyBHash) + "\"");
       },
       "cp.yaml:16: agents[1].id \"agent-1\" is already used by agents[0]"},
      {"DuplicateKeyHash",
       [](auto& l) {
         std::string upper = kHash;
         for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
         l.push_back("  - id: agent-2");
         l.push_back("    key_sha256: \"" + upper + "\"");
       },
       "cp.yaml:17: agents[1].key_sha256 is the same as agents[0].key_sha256 (every agent needs "
       "its own key)"},
      {"InvalidAgentId", [](auto& l) { set_line(l, 6, R"(  - id: "agent 1")"); },
       "cp.yaml:6: agents[0].id must be 1-128 characters of A-Z a-z 0-9 . _ - (got \"agent "
       "1\")"},
      {"MissingAgentKey", [](auto& l) { l.erase(l.begin() + 6); },
       "cp.yaml:6: agents[0].key_sha256 is required"},
      {"MissingTlsFile", [](auto& l) { set_line(l, 3, "  cert_file: missing.crt"); },
       "cp.yaml:3: tls.cert_file cannot read \"$DIR/missing.crt\": No such file or directory"},
      {"MissingTls", [](auto& l) { l.erase(l.begin() + 1, l.begin() + 4); },
       "cp.yaml:1: tls is required (or try it out with `serve --dev`, which generates a "
       "throwaway certificate)"},
      {"MissingTlsKeyFile", [](auto& l) { l.erase(l.begin() + 3); },
       "cp.yaml:3: tls.key_file is required"},
      {"BadListen", [](auto& l) { set_line(l, 1, "listen: example.org:80"); },
       "cp.yaml:1: listen must be \"host:port\" with an IP address or localhost (\"[::1]:8443\" "
       "for IPv6), got \"example.org:80\""},
      {"BadListenPort", [](auto& l) { set_line(l, 1, "listen: \"127.0.0.1:99999\""); },
       "cp.yaml:1: listen must be \"host:port\"", true},
      {"BadTargetType", [](auto& l) { set_line(l, 12, "          type: postgres"); },
       "cp.yaml:12: agents[0].config.targets[0].type must be one of "
       "postgresql|mysql|mariadb|mongodb|redis|sqlite (got \"postgres\")"},
      {"MissingTargetType", [](auto& l) { l.erase(l.begin() + 11); },
       "cp.yaml:11: agents[0].config.targets[0].type is required"},
      {"BadStrategy", [](auto& l) { set_line(l, 13, "          connection: {strategy: ssh}"); },
       "cp.yaml:13: agents[0].config.targets[0].connection.strategy must be one of "
       "tcp|docker_exec|unix_socket (got \"ssh\")"},
      {"DuplicateTargetId",
       [](auto& l) {
         l.insert(l.begin() + 13,
                  {"        - id: pg1", "          type: redis", "          connection: {}"});
       },
       "cp.yaml:14: agents[0].config.targets[1].id \"pg1\" is used more than once"},
      {"DanglingJobTarget",
       [](auto& l) {
         set_line(l, 15, R"(        - {id: nightly, target_id: pg2, cron: "0 3 * * *"})");
       },
       "cp.yaml:15: agents[0].config.jobs[0].target_id \"pg2\" does not name a target of this "
       "agent"},
      {"BadCron",
       [](auto& l) {
         set_line(l, 15, R"(        - {id: nightly, target_id: pg1, cron: "61 * * * *"})");
       },
       "cp.yaml:15: agents[0].config.jobs[0].cron is not a valid cron expression: ", true},
      {"UnknownCronZone",
       [](auto& l) {
         set_line(
             l, 15,
             R"(        - {id: nightly, target_id: pg1, cron: "CRON_TZ=Mars/Olympus 0 3 * * *"})");
       },
       "cp.yaml:15: agents[0].config.jobs[0].cron is not a valid cron expression: CRON_TZ "
       "\"Mars/Olympus\" is not a known time zone"},
      {"BadCompression",
       [](auto& l) {
         set_line(l, 15, R"(        - {id: n, target_id: pg1, cron: "@daily", compression: lz4})");
       },
       "cp.yaml:15: agents[0].config.jobs[0].compression must be one of zstd|gzip|none (got "
       "\"lz4\")"},
      {"BadHook",
       [](auto& l) {
         set_line(l, 15,
                  R"(        - {id: n, target_id: pg1, cron: "@daily", pre_hooks: [{a: b}]})");
       },
       "cp.yaml:15: agents[0].config.jobs[0].pre_hooks[0] must be a string"},
      {"BadBackoff",
       [](auto& l) {
         set_line(l, 15, "        - id: nightly");
         l.push_back("          target_id: pg1");
         l.push_back("          cron: \"@daily\"");
         l.push_back("          retry: {backoff_seconds: [10, soon]}");
       },
       "cp.yaml:18: agents[0].config.jobs[0].retry.backoff_seconds[1] must be an integer between "
       "0 and 4294967295"},
      {"BadMaintenance",
       [](auto& l) { l.push_back(R"(      maintenance: {start_utc: "1:00", end_utc: "02:00"})"); },
       "cp.yaml:16: agents[0].config.maintenance.start_utc must be a UTC time \"HH:MM\" (got "
       "\"1:00\")"},
      {"BadLogLevel", [](auto& l) { l.push_back("      advanced: {log_level: verbose}"); },
       "cp.yaml:16: agents[0].config.advanced.log_level must be one of "
       "trace|debug|info|warn|error (got \"verbose\")"},
      {"TcpCheckWithStatus",
       [](auto& l) {
         l.push_back("      health_checks:");
         l.push_back("        - {id: h, type: tcp, target: \"db:1\", expected_status: 200}");
       },
       "cp.yaml:17: agents[0].config.health_checks[0].expected_status applies only to http and "
       "https checks"},
      {"YamlSyntaxError", [](auto& l) { set_line(l, 7, "   key_sha256: [unclosed"); },
       "cp.yaml:", true},
      {"EmptyDocument", [](auto& l) { l.clear(); }, "cp.yaml:1: is empty (expected a mapping)"},
      {"NotAMapping",
       [](auto& l) {
         l = {"- a", "- b"};
       },
       "cp.yaml:1: document must be a mapping"},
  };
}

class ConfigErrorTest : public ConfigDirTest<::testing::TestWithParam<ErrorCase>> {};

TEST_P(ConfigErrorTest, ReportsTheProblemWithItsLine) {
  const ErrorCase& c = GetParam();
  expect_config_error(c, base_lines(), dir_.path(),
                      [&c](const ConfigError& e, const std::string& expected) {
                        const std::string message = e.what();
                        if (c.prefix_only) {
                          EXPECT_EQ(message.substr(0, expected.size()), expected) << message;
                        } else {
                          EXPECT_EQ(message, expected);
                        }
                        // The line number is also available programmatically.
                        const std::size_t colon = message.find(':', 8);
                        if (message.starts_with("cp.yaml:") && colon != std::string::npos) {
                          EXPECT_EQ(std::to_string(e.line()), message.substr(8, colon - 8));
                        }
                      });
}

INSTANTIATE_TEST_SUITE_P(Validation, ConfigErrorTest, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace backupy::controlplane
