// No problem line ever shows a target password, wherever the server put it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "backupy/config/snapshot_validation.hpp"
#include "backupy/core/redactor.hpp"
#include "snapshot_validation_test_support.hpp"

namespace backupy::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::valid_config;

const std::string kPassword = "S3cretPW!";

backup::v1::AgentConfig with_password_everywhere(const std::string& password) {
  auto config = valid_config();
  for (auto& target : *config.mutable_targets()) {
    target.mutable_connection()->set_password_secret_ref(password);
  }
  return config;
}

// Strings a confused server might send with the password inside.
std::vector<std::string> poisoned_values(const std::string& pw) {
  return {pw,
          "x" + pw + "y",
          pw + " * * * *",
          "0 " + pw + " * * *",
          "*/" + pw + " * * * *",
          "CRON_TZ=" + pw,
          "http://user:" + pw + "@host/x",
          "ftp://" + pw + "@host",
          "[" + pw + "]:1",
          pw + ":99999",
          pw + ":5432",
          std::string(60, 'a') + pw,
          pw + std::string(80, 'b'),
          "\"" + pw + "\"\n",
          pw + "," + pw};
}

using Mutation = std::function<void(backup::v1::AgentConfig&, const std::string&)>;

// Every string field a problem could echo, plus numeric breakage so that
// several rules fire at once.
std::vector<Mutation> mutations() {
  using namespace backup::v1;
  return {
      [](AgentConfig& c, const std::string& v) { c.mutable_targets(0)->set_id(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_targets(1)->set_id(v); },
      [](AgentConfig& c, const std::string& v) {
        c.mutable_targets(0)->mutable_connection()->set_host(v);
      },
      [](AgentConfig& c, const std::string& v) {
        c.mutable_targets(1)->mutable_connection()->set_container_id(v);
      },
      [](AgentConfig& c, const std::string& v) {
        c.mutable_targets(0)->mutable_connection()->set_username(v);
      },
      [](AgentConfig& c, const std::string& v) { c.mutable_targets(0)->set_display_name(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(0)->set_id(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(1)->set_target_id(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(0)->set_cron(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(2)->set_cron(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(0)->set_compression(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_jobs(0)->add_pre_hooks(v); },
      [](AgentConfig& c, const std::string& v) {
        c.mutable_jobs(0)->add_post_hooks(v + std::string(5000, 'z'));
      },
      [](AgentConfig& c, const std::string& v) { c.mutable_health_checks(0)->set_id(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_health_checks(0)->set_target(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_health_checks(1)->set_target(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_health_checks(2)->set_target(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_maintenance()->set_start_utc(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_maintenance()->set_end_utc(v); },
      [](AgentConfig& c, const std::string& v) { c.mutable_advanced()->set_log_level(v); },
      [](AgentConfig& c, const std::string&) {
        c.mutable_targets(2)->set_type(static_cast<DbType>(99));
      },
      [](AgentConfig& c, const std::string&) { c.mutable_jobs(0)->set_timeout_sec(999999999); },
      [](AgentConfig& c, const std::string&) {
        c.mutable_health_checks(0)->set_expected_status(7);
      },
  };
}

void expect_never_shown(const std::vector<std::string>& problems, const std::string& secret) {
  for (const std::string& problem : problems) {
    EXPECT_THAT(problem, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(summarize_problems(problems), Not(HasSubstr(secret)));
}

TEST(SnapshotSecretsTest, FuzzedInvalidConfigsNeverShowThePassword) {
  const auto values = poisoned_values(kPassword);
  const auto changes = mutations();
  std::mt19937 random(20260301);  // fixed seed: failures must reproduce
  std::size_t total_problems = 0;
  for (int round = 0; round < 300; ++round) {
    auto config = with_password_everywhere(kPassword);
    const int count = 1 + static_cast<int>(random() % 6);
    for (int i = 0; i < count; ++i) {
      changes[random() % changes.size()](config, values[random() % values.size()]);
    }
    const auto problems = validate_snapshot(config);
    total_problems += problems.size();
    SCOPED_TRACE("round " + std::to_string(round));
    expect_never_shown(problems, kPassword);
  }
  EXPECT_GT(total_problems, 300u);  // the fuzz really produced invalid configs
}

TEST(SnapshotSecretsTest, EveryPoisonedValueInEveryFieldIsScrubbed) {
  const auto values = poisoned_values(kPassword);
  for (const Mutation& change : mutations()) {
    for (const std::string& value : values) {
      auto config = with_password_everywhere(kPassword);
      change(config, value);
      expect_never_shown(validate_snapshot(config), kPassword);
    }
  }
}

TEST(SnapshotSecretsTest, CronErrorShowsRedactedMarkerInstead) {
  auto config = with_password_everywhere(kPassword);
  config.mutable_jobs(0)->set_cron(kPassword + " * * * *");
  EXPECT_THAT(validate_snapshot(config),
              ElementsAre("job \"nightly\": cron: cron field 'minute' (value \"[REDACTED]\"): "
                          "\"[REDACTED]\" is not a number"));
}

TEST(SnapshotSecretsTest, PasswordWithQuotesIsScrubbedInEscapedFormToo) {
  const std::string password = "pa\"ss\\w0rd";
  const std::string escaped = "pa\\\"ss\\\\w0rd";
  for (const Mutation& change : mutations()) {
    for (const std::string& value : poisoned_values(password)) {
      auto config = with_password_everywhere(password);
      change(config, value);
      const auto problems = validate_snapshot(config);
      expect_never_shown(problems, password);
      expect_never_shown(problems, escaped);
    }
  }
}

TEST(SnapshotSecretsTest, LongPasswordIsNotRevealedByCutting) {
  const std::string password = "Long-" + std::string(90, 'Q') + "-Tail";
  for (const Mutation& change : mutations()) {
    for (const std::string& value : poisoned_values(password)) {
      auto config = with_password_everywhere(password);
      change(config, value);
      // Not even a cut-off prefix of it.
      expect_never_shown(validate_snapshot(config), password.substr(0, 12));
    }
  }
}

TEST(SnapshotSecretsTest, RegisteredSecretsAreScrubbedToo) {
  const std::string agent_key(64, 'f');
  core::register_secret(agent_key);
  auto config = valid_config();
  config.mutable_jobs(0)->set_target_id("key-" + agent_key);
  const auto problems = validate_snapshot(config);
  core::forget_all_secrets();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], Not(HasSubstr(agent_key.substr(0, 40))));
}

}  // namespace
}  // namespace backupy::config
