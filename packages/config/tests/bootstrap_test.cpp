#include "backupy/config/bootstrap.hpp"

#include <gtest/gtest.h>

#include <map>

namespace backupy::config {
namespace {

const std::string kKey(64, 'a');

struct FakeEnv {
  std::map<std::string, std::string, std::less<>> vars;
  EnvLookup lookup() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

std::vector<std::string> problems_of(const FakeEnv& env) {
  auto result = load_bootstrap(env.lookup());
  if (auto* problems = std::get_if<std::vector<std::string>>(&result)) return *problems;
  return {};
}

BootstrapConfig config_of(const FakeEnv& env) {
  auto result = load_bootstrap(env.lookup());
  if (auto* problems = std::get_if<std::vector<std::string>>(&result)) {
    ADD_FAILURE() << "unexpected problem: " << problems->front();
    return {};
  }
  return std::get<BootstrapConfig>(result);
}

TEST(BootstrapTest, MinimalEnvironmentUsesDocumentedDefaults) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp.example.com"}, {"BACKUPY_AGENT_KEY", kKey}}};
  const auto config = config_of(env);
  EXPECT_EQ(config.connect_url.to_string(), "wss://cp.example.com/v1/agents/connect");
  EXPECT_EQ(config.state_dir, "/var/lib/backupy");
  EXPECT_EQ(config.log_level, core::LogLevel::info);
  EXPECT_EQ(config.docker_socket, "/var/run/docker.sock");
  EXPECT_EQ(config.metrics_listen_addr, "127.0.0.1:9090");
  EXPECT_FALSE(config.allow_insecure);
  EXPECT_EQ(config.max_inbound_message_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(config.peer_timeout, std::chrono::seconds(90));
}

TEST(BootstrapTest, FallsBackToLegacyNamesButPrefersNewOnes) {
  FakeEnv env{{{"BACKUP_SERVER_URL", "https://legacy.example.com"},
               {"BACKUP_AGENT_KEY", kKey},
               {"BACKUP_LOG_LEVEL", "debug"},
               {"BACKUPY_LOG_LEVEL", "warn"}}};
  const auto config = config_of(env);
  EXPECT_EQ(config.connect_url.host, "legacy.example.com");
  EXPECT_EQ(config.log_level, core::LogLevel::warn);
}

TEST(BootstrapTest, MissingRequiredVariablesAreAllReported) {
  const auto problems = problems_of(FakeEnv{});
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "BACKUPY_SERVER_URL is required (e.g. https://backupy.example.com)");
  EXPECT_EQ(problems[1], "BACKUPY_AGENT_KEY is required");
}

TEST(BootstrapTest, InvalidKeyIsRejectedWithoutEchoingIt) {
  const std::string bad = "bkpy_live_tooShortButSecretLooking";
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp"}, {"BACKUPY_AGENT_KEY", bad}}};
  const auto problems = problems_of(env);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("BACKUPY_AGENT_KEY is not a valid agent key"), std::string::npos);
  EXPECT_EQ(problems[0].find("tooShort"), std::string::npos);
  EXPECT_EQ(problems[0].find(bad), std::string::npos);
}

TEST(BootstrapTest, AcceptsLegacyKeyForms) {
  EXPECT_TRUE(is_valid_agent_key("bkpy_live_" + std::string(32, 'Z')));
  EXPECT_TRUE(is_valid_agent_key("bkpy_test_0123456789abcdefABCDEF0123456789"));
  EXPECT_FALSE(is_valid_agent_key("bkpy_prod_" + std::string(32, 'a')));
  EXPECT_FALSE(is_valid_agent_key(std::string(64, 'A')));  // hex must be lowercase
  EXPECT_FALSE(is_valid_agent_key(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_agent_key("bkpy_live_" + std::string(31, 'a') + "-"));
}

TEST(BootstrapTest, InsecureSchemesNeedTheExplicitSwitch) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "http://localhost:8080"}, {"BACKUPY_AGENT_KEY", kKey}}};
  const auto problems = problems_of(env);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("BACKUPY_SERVER_URL"), std::string::npos);
  EXPECT_NE(problems[0].find("BACKUPY_DEV_ALLOW_INSECURE"), std::string::npos);

  env.vars["BACKUPY_DEV_ALLOW_INSECURE"] = "true";
  EXPECT_EQ(config_of(env).connect_url.to_string(), "ws://localhost:8080/v1/agents/connect");
}

TEST(BootstrapTest, ValidatesEveryOptionalVariable) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp"},
               {"BACKUPY_AGENT_KEY", kKey},
               {"BACKUPY_STATE_DIR", "relative/dir"},
               {"BACKUPY_LOG_LEVEL", "loud"},
               {"BACKUPY_METRICS_LISTEN_ADDR", "nope"},
               {"BACKUPY_CA_FILE", "/does/not/exist.pem"},
               {"BACKUPY_MAX_INBOUND_BYTES", "1024"},
               {"BACKUPY_PEER_TIMEOUT_SEC", "0"},
               {"BACKUPY_DEV_ALLOW_INSECURE", "maybe"}}};
  const auto problems = problems_of(env);
  ASSERT_EQ(problems.size(), 7u);
  EXPECT_EQ(problems[0], "BACKUPY_DEV_ALLOW_INSECURE must be true or false");
  EXPECT_EQ(problems[1], "BACKUPY_STATE_DIR must be an absolute path");
  EXPECT_EQ(problems[2], "BACKUPY_LOG_LEVEL must be one of trace, debug, info, warn, error");
  EXPECT_EQ(problems[3], "BACKUPY_METRICS_LISTEN_ADDR must be host:port (or empty to disable)");
  EXPECT_EQ(problems[4], "BACKUPY_CA_FILE: /does/not/exist.pem is not a readable file");
  EXPECT_EQ(problems[5], "BACKUPY_MAX_INBOUND_BYTES must be a number of bytes >= 4194304");
  EXPECT_EQ(problems[6], "BACKUPY_PEER_TIMEOUT_SEC must be between 2 and 3600");
}

TEST(BootstrapTest, EmptyMetricsAddressDisablesTheListener) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp"},
               {"BACKUPY_AGENT_KEY", kKey},
               {"BACKUPY_METRICS_LISTEN_ADDR", ""}}};
  EXPECT_EQ(config_of(env).metrics_listen_addr, "");
}

TEST(BootstrapTest, PicksUpProxyUnlessNoProxyMatches) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp.corp.example"},
               {"BACKUPY_AGENT_KEY", kKey},
               {"HTTPS_PROXY", "http://proxy.corp.example:3128"}}};
  auto config = config_of(env);
  ASSERT_TRUE(config.proxy.has_value());
  EXPECT_EQ(config.proxy->host, "proxy.corp.example");
  EXPECT_EQ(config.proxy->port, 3128);
  env.vars["NO_PROXY"] = ".corp.example";
  EXPECT_FALSE(config_of(env).proxy.has_value());
}

TEST(BootstrapTest, DiscoveryIsOnUnlessDisabledAndTheSwitchIsParsedStrictly) {
  FakeEnv env{{{"BACKUPY_SERVER_URL", "https://cp"}, {"BACKUPY_AGENT_KEY", kKey}}};
  EXPECT_TRUE(config_of(env).discovery_enabled);
  for (const char* off : {"true", "1", "yes", "TRUE"}) {
    env.vars["BACKUPY_DISABLE_DISCOVERY"] = off;
    EXPECT_FALSE(config_of(env).discovery_enabled) << off;
  }
  for (const char* on : {"false", "0", "no", ""}) {
    env.vars["BACKUPY_DISABLE_DISCOVERY"] = on;
    EXPECT_TRUE(config_of(env).discovery_enabled) << on;
  }
  env.vars.erase("BACKUPY_DISABLE_DISCOVERY");
  env.vars["BACKUP_DISABLE_DISCOVERY"] = "yes";  // the legacy name
  EXPECT_FALSE(config_of(env).discovery_enabled);
  env.vars["BACKUPY_DISABLE_DISCOVERY"] = "disabled";
  const auto problems = problems_of(env);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0],
            "BACKUPY_DISABLE_DISCOVERY must be true, false, 1, 0, yes or no (got \"disabled\")");
}

}  // namespace
}  // namespace backupy::config
