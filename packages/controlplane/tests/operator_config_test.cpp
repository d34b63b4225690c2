// YAML of the operator sections: admin, storage, token_signing_key_file, scheduling.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>

#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/redactor.hpp"
#include "test_support.hpp"

namespace backupy::controlplane {
namespace {

using namespace testing;  // the shared helpers of test_support.hpp
using ErrorCase = ConfigErrorCase;

constexpr std::string_view kSecret = "s3-Secret-Access-Key/123";
constexpr std::string_view kEnvName = "BACKUPY_CP_TEST_S3_SECRET";

// Line numbers matter for the error cases below.
std::vector<std::string> base_lines() {
  return {
      R"(listen: "127.0.0.1:0")",                                 // 1
      R"(tls: {cert_file: server.crt, key_file: server.key})",    // 2
      R"(admin:)",                                                // 3
      R"(  token_sha256:)",                                       // 4
      std::string(R"(    - ")") + std::string(kKeyAHash) + "\"",  // 5
      std::string(R"(    - ")") + std::string(kKeyBHash) + "\"",  // 6
      R"(storage:)",                                              // 7
      R"(  type: s3)",                                            // 8
      R"(  endpoint: "http://127.0.0.1:9000")",                   // 9
      R"(  region: us-east-1)",                                   // 10
      R"(  bucket: backups)",                                     // 11
      R"(  access_key_id: AKIAEXAMPLE)",                          // 12
      R"(  secret_access_key_file: s3.secret)",                   // 13
      R"(token_signing_key_file: token.key)",                     // 14
  };
}

class OperatorConfigTest : public ConfigDirTest<> {
 protected:
  void SetUp() override {
    ConfigDirTest::SetUp();
    write_text(dir_.path() / "s3.secret", std::string(kSecret) + "\n");
    write_text(dir_.path() / "token.key", std::string(64, 'f') + "\n");
    ::setenv(std::string(kEnvName).c_str(), "from-the-environment", 1);
  }
  void TearDown() override {
    ::unsetenv(std::string(kEnvName).c_str());
    ConfigDirTest::TearDown();
  }
  ServerConfig parse(const std::vector<std::string>& lines) {
    return parse_server_config(join_lines(lines), "cp.yaml", dir_.path());
  }
};

TEST_F(OperatorConfigTest, ParsesAdminStorageAndTokenKey) {
  std::vector<std::string> lines = base_lines();
  std::string upper(kKeyBHash);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  set_line(lines, 6, "    - \"" + upper + "\"");
  lines.insert(lines.begin() + 12, {"  path_style: false", "  url_ttl_sec: 900"});
  set_line(lines, 9, R"(  endpoint: "https://s3.eu-west-1.amazonaws.com")");
  const ServerConfig config = parse(lines);

  EXPECT_EQ(config.admin_token_sha256,
            (std::vector<std::string>{std::string(kKeyAHash), std::string(kKeyBHash)}));
  ASSERT_TRUE(config.storage);
  EXPECT_EQ(config.storage->endpoint, "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(config.storage->region, "us-east-1");
  EXPECT_EQ(config.storage->bucket, "backups");
  EXPECT_FALSE(config.storage->path_style);
  EXPECT_EQ(config.storage->access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(config.storage->secret_access_key, kSecret);  // trailing newline trimmed
  EXPECT_EQ(config.storage->url_ttl_sec, 900u);
  EXPECT_EQ(config.token_signing_key, std::string(64, 'f'));
  // Secrets never reach a log line.
  EXPECT_EQ(core::redact("x " + std::string(kSecret) + " y"), "x [REDACTED] y");
}

TEST_F(OperatorConfigTest, AppliesDefaultsAndEverySectionIsOptional) {
  std::vector<std::string> lines = base_lines();
  const ServerConfig config = parse(lines);
  EXPECT_TRUE(config.storage->path_style);
  EXPECT_EQ(config.storage->url_ttl_sec, 3600u);

  lines.resize(2);
  const ServerConfig bare = parse(lines);
  EXPECT_TRUE(bare.admin_token_sha256.empty());
  EXPECT_FALSE(bare.storage);
  EXPECT_TRUE(bare.token_signing_key.empty());
}

TEST_F(OperatorConfigTest, ReadsTheSecretFromTheEnvironment) {
  std::vector<std::string> lines = base_lines();
  set_line(lines, 13, "  secret_access_key_env: " + std::string(kEnvName));
  EXPECT_EQ(parse(lines).storage->secret_access_key, "from-the-environment");
}

TEST_F(OperatorConfigTest, ResolvesSecretFilesAgainstTheYamlDirectory) {
  std::filesystem::create_directories(dir_.path() / "conf");
  write_text(dir_.path() / "conf" / "cp.yaml", join_lines(base_lines()));
  std::filesystem::copy_file(dir_.path() / "server.crt", dir_.path() / "conf" / "server.crt");
  std::filesystem::copy_file(dir_.path() / "server.key", dir_.path() / "conf" / "server.key");
  std::filesystem::copy_file(dir_.path() / "token.key", dir_.path() / "conf" / "token.key");
  write_text(dir_.path() / "conf" / "s3.secret", "other-secret");
  EXPECT_EQ(load_server_config(dir_.path() / "conf" / "cp.yaml").storage->secret_access_key,
            "other-secret");
}

// A local storage section in place of base_lines()' s3 one (lines 7-13).
std::vector<std::string> local_lines() {
  std::vector<std::string> lines = base_lines();
  lines.erase(lines.begin() + 6, lines.begin() + 13);
  lines.insert(lines.begin() + 6, {
                                      R"(storage:)",            // 7
                                      R"(  type: local)",       // 8
                                      R"(  dir: objects)",      // 9
                                      R"(  url_ttl_sec: 120)",  // 10
                                  });
  return lines;  // 11: token_signing_key_file
}

TEST_F(OperatorConfigTest, ParsesLocalStorageWithDefaults) {
  ServerConfig config = parse(local_lines());
  ASSERT_TRUE(config.storage);
  EXPECT_EQ(config.storage->type, StorageType::local);
  EXPECT_EQ(config.storage->dir, dir_.path() / "objects");  // relative to the YAML
  EXPECT_EQ(config.storage->url_ttl_sec, 120u);
  EXPECT_TRUE(config.storage->public_url.empty());
  EXPECT_EQ(config.storage->max_object_bytes, std::uint64_t{1} << 40);
  EXPECT_TRUE(config.storage->url_signing_key.empty());

  // The type defaults to local: the embedded store needs nothing else.
  std::vector<std::string> lines = local_lines();
  lines.erase(lines.begin() + 7);
  set_line(lines, 8, "  dir: /srv/backupy/objects");
  lines.insert(lines.begin() + 8, {R"(  public_url: "https://cp.example.com:8443")",
                                   "  max_object_bytes: 1000", "  url_signing_key_file: url.key"});
  write_text(dir_.path() / "url.key", std::string(40, 'u') + "\n");
  config = parse(lines);
  EXPECT_EQ(config.storage->type, StorageType::local);
  EXPECT_EQ(config.storage->dir, "/srv/backupy/objects");
  EXPECT_EQ(config.storage->public_url, "https://cp.example.com:8443");
  EXPECT_EQ(config.storage->max_object_bytes, 1000u);
  EXPECT_EQ(config.storage->url_signing_key, std::string(40, 'u'));
  EXPECT_EQ(core::redact("x " + std::string(40, 'u') + " y"), "x [REDACTED] y");
}

TEST_F(OperatorConfigTest, RejectsBadLocalStorage) {
  write_text(dir_.path() / "short.key", "short");
  const std::vector<ErrorCase> cases = {
      {"MissingDir", [](auto& l) { l.erase(l.begin() + 8); }, "cp.yaml:8: storage.dir is required"},
      {"HttpPublicUrl", [](auto& l) { set_line(l, 10, R"(  public_url: "http://cp:8443")"); },
       "cp.yaml:10: storage.public_url must start with https:// (the control plane listens with "
       "TLS only)"},
      {"PublicUrlWithPath",
       [](auto& l) { set_line(l, 10, R"(  public_url: "https://cp:8443/x")"); },
       "cp.yaml:10: storage.public_url must be https://host[:port] without a path or query"},
      {"ZeroMaxObjectBytes", [](auto& l) { set_line(l, 10, "  max_object_bytes: 0"); },
       "cp.yaml:10: storage.max_object_bytes must be an integer between 1 and 9223372036854775807"},
      {"ShortUrlKey", [](auto& l) { set_line(l, 10, "  url_signing_key_file: short.key"); },
       "cp.yaml:10: storage.url_signing_key_file must hold at least 32 bytes (e.g. `openssl rand "
       "-hex 32`), got 5"},
      {"S3KeyInLocal", [](auto& l) { set_line(l, 10, "  bucket: backups"); },
       "cp.yaml:10: storage.bucket is not a known key (expected one of: type, dir, public_url, "
       "max_object_bytes, url_signing_key_file, url_ttl_sec)"},
  };
  for (const ErrorCase& error_case : cases) {
    SCOPED_TRACE(error_case.name);
    expect_config_error(error_case, local_lines(), dir_.path(),
                        [](const ConfigError& e, const std::string& expected) {
                          EXPECT_EQ(std::string(e.what()), expected);
                        });
  }
}

TEST_F(OperatorConfigTest, SchedulingHasDefaultsAndTakesItsKeys) {
  std::vector<std::string> lines = base_lines();
  EXPECT_EQ(parse(lines).scheduling.max_waiting_runs_per_agent, 16u);
  EXPECT_EQ(parse(lines).scheduling.waiting_run_ttl_sec, 86400u);
  lines.insert(lines.end(),
               {"scheduling:", "  max_waiting_runs_per_agent: 2", "  waiting_run_ttl_sec: 3600"});
  const ServerConfig config = parse(lines);
  EXPECT_EQ(config.scheduling.max_waiting_runs_per_agent, 2u);
  EXPECT_EQ(config.scheduling.waiting_run_ttl_sec, 3600u);
}

TEST_F(OperatorConfigTest, AgentCronIsOnByDefaultWithoutJitter) {
  std::vector<std::string> lines = base_lines();
  EXPECT_TRUE(parse(lines).scheduling.agent_cron);
  EXPECT_EQ(parse(lines).scheduling.jitter_sec, 0u);
  lines.insert(lines.end(), {"scheduling:", "  agent_cron: false", "  jitter_sec: 86400"});
  const ServerConfig config = parse(lines);
  EXPECT_FALSE(config.scheduling.agent_cron);
  EXPECT_EQ(config.scheduling.jitter_sec, 86400u);
}

std::vector<ErrorCase> error_cases() {
  return {
      {"AdminTokenNotHex", [](auto& l) { set_line(l, 6, R"(    - "abc")"); },
       "cp.yaml:6: admin.token_sha256[1] must be 64 hex characters"},
      {"AdminTokenTwice",
       [](auto& l) { set_line(l, 6, "    - \"" + std::string(kKeyAHash) + "\""); },
       "cp.yaml:6: admin.token_sha256[1] is the same as admin.token_sha256[0]"},
      {"AdminUnknownKey", [](auto& l) { set_line(l, 4, "  tokens:"); },
       "cp.yaml:4: admin.tokens is not a known key (expected one of: token_sha256)"},
      {"AdminTokensNotAList",
       [](auto& l) {
         l.erase(l.begin() + 4, l.begin() + 6);
         set_line(l, 4, "  token_sha256: abc");
       },
       "cp.yaml:4: admin.token_sha256 must be a list"},
      {"InlineSecret", [](auto& l) { set_line(l, 13, "  secret_access_key: hunter2hunter2"); },
       "cp.yaml:13: storage.secret_access_key must not be written into the YAML: use "
       "secret_access_key_file or secret_access_key_env"},
      {"BothSecretSources",
       [](auto& l) {
         l.insert(l.begin() + 13, "  secret_access_key_env: " + std::string(kEnvName));
       },
       "cp.yaml:14: storage.secret_access_key_env cannot be combined with "
       "storage.secret_access_key_file (give one of them)"},
      {"NoSecretSource", [](auto& l) { l.erase(l.begin() + 12); },
       "cp.yaml:8: storage needs secret_access_key_file or secret_access_key_env"},
      {"UnsetEnv", [](auto& l) { set_line(l, 13, "  secret_access_key_env: BACKUPY_NOT_SET_X"); },
       "cp.yaml:13: storage.secret_access_key_env names the environment variable "
       "BACKUPY_NOT_SET_X, which is not set or empty"},
      {"BadEnvName", [](auto& l) { set_line(l, 13, "  secret_access_key_env: 1-bad"); },
       "cp.yaml:13: storage.secret_access_key_env must be an environment variable name (got "
       "\"1-bad\")"},
      {"MissingSecretFile", [](auto& l) { set_line(l, 13, "  secret_access_key_file: none.txt"); },
       "cp.yaml:13: storage.secret_access_key_file cannot read \"$DIR/none.txt\": No such file or "
       "directory"},
      {"EmptySecretFile",
       [](auto& l) { set_line(l, 13, "  secret_access_key_file: empty.secret"); },
       "cp.yaml:13: storage.secret_access_key_file names an empty file"},
      {"NotS3", [](auto& l) { set_line(l, 8, "  type: gcs"); },
       "cp.yaml:8: storage.type must be local or s3 (got \"gcs\")"},
      // Without a type the storage is local, which has no endpoint.
      {"MissingTypeMeansLocal", [](auto& l) { l.erase(l.begin() + 7); },
       "cp.yaml:8: storage.endpoint is not a known key (expected one of: type, dir, public_url, "
       "max_object_bytes, url_signing_key_file, url_ttl_sec)"},
      {"EndpointWithPath",
       [](auto& l) { set_line(l, 9, R"(  endpoint: "http://minio:9000/backups")"); },
       "cp.yaml:9: storage.endpoint must not have a path (the bucket is configured separately)"},
      {"EndpointWithoutScheme", [](auto& l) { set_line(l, 9, "  endpoint: minio:9000"); },
       "cp.yaml:9: storage.endpoint must start with http:// or https://"},
      {"BadBucket", [](auto& l) { set_line(l, 11, "  bucket: My_Backups"); },
       "cp.yaml:11: storage.bucket must be 3-63 characters of a-z 0-9 . - starting and ending "
       "with a letter or digit (got \"My_Backups\")"},
      {"VirtualHostOnIp", [](auto& l) { l.insert(l.begin() + 11, "  path_style: false"); },
       "cp.yaml:12: storage.path_style false (virtual-host style) needs an endpoint with a DNS "
       "name, not an IP address"},
      {"PathStyleNotBool", [](auto& l) { l.insert(l.begin() + 11, "  path_style: yes please"); },
       "cp.yaml:12: storage.path_style must be true or false"},
      {"TtlZero", [](auto& l) { l.insert(l.begin() + 12, "  url_ttl_sec: 0"); },
       "cp.yaml:13: storage.url_ttl_sec must be an integer between 1 and 604800"},
      {"TtlTooLong", [](auto& l) { l.insert(l.begin() + 12, "  url_ttl_sec: 604801"); },
       "cp.yaml:13: storage.url_ttl_sec must be an integer between 1 and 604800"},
      {"MissingRegion", [](auto& l) { l.erase(l.begin() + 9); },
       "cp.yaml:8: storage.region is required"},
      {"MissingAccessKeyId", [](auto& l) { l.erase(l.begin() + 11); },
       "cp.yaml:8: storage.access_key_id is required"},
      {"UnknownStorageKey", [](auto& l) { l.insert(l.begin() + 11, "  buckets: x"); },
       "cp.yaml:12: storage.buckets is not a known key (expected one of: type, endpoint, region, "
       "bucket, path_style, access_key_id, secret_access_key_file, secret_access_key_env, "
       "url_ttl_sec)"},
      {"ShortTokenKey", [](auto& l) { set_line(l, 14, "token_signing_key_file: server.crt"); },
       "cp.yaml:14: token_signing_key_file must hold at least 32 bytes (e.g. `openssl rand -hex "
       "32`), got 4"},
      {"SchedulingUnknownKey",
       [](auto& l) {
         l.insert(l.end(), {"scheduling:", "  max_waiting: 3"});
       },
       "cp.yaml:16: scheduling.max_waiting is not a known key (expected one of: "
       "max_waiting_runs_per_agent, waiting_run_ttl_sec, agent_cron, jitter_sec)"},
      {"SchedulingJitterTooLong",
       [](auto& l) {
         l.insert(l.end(), {"scheduling:", "  jitter_sec: 86401"});
       },
       "cp.yaml:16: scheduling.jitter_sec must be an integer between 0 and 86400"},
      {"SchedulingNoBound",
       [](auto& l) {
         l.insert(l.end(), {"scheduling:", "  max_waiting_runs_per_agent: 0"});
       },
       "cp.yaml:16: scheduling.max_waiting_runs_per_agent must be an integer between 1 and 10000"},
      {"SchedulingShortTtl",
       [](auto& l) {
         l.insert(l.end(), {"scheduling:", "  waiting_run_ttl_sec: 59"});
       },
       "cp.yaml:16: scheduling.waiting_run_ttl_sec must be an integer between 60 and 31536000"},
      {"SchedulingNotAMap", [](auto& l) { l.push_back("scheduling: 16"); },
       "cp.yaml:15: scheduling must be a mapping"},
      {"MissingTokenKey",
       [](auto& l) { set_line(l, 14, "token_signing_key_file: /nonexistent/k"); },
       "cp.yaml:14: token_signing_key_file cannot read \"/nonexistent/k\": No such file or "
       "directory"},
  };
}

class OperatorConfigErrorTest : public ConfigDirTest<::testing::TestWithParam<ErrorCase>> {
 protected:
  void SetUp() override {
    ConfigDirTest::SetUp();
    write_text(dir_.path() / "s3.secret", std::string(kSecret));
    write_text(dir_.path() / "empty.secret", " \n");
    write_text(dir_.path() / "token.key", std::string(64, 'f'));
  }
};

TEST_P(OperatorConfigErrorTest, ReportsTheProblemWithItsLine) {
  expect_config_error(GetParam(), base_lines(), dir_.path(),
                      [](const ConfigError& e, const std::string& expected) {
                        EXPECT_EQ(std::string(e.what()), expected);
                        EXPECT_EQ("cp.yaml:" + std::to_string(e.line()) + ":",
                                  std::string(e.what()).substr(0, expected.find(':', 8) + 1));
                        // No error message ever quotes a secret.
                        EXPECT_EQ(std::string(e.what()).find(kSecret), std::string::npos);
                      });
}

INSTANTIATE_TEST_SUITE_P(Validation, OperatorConfigErrorTest, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace backupy::controlplane
