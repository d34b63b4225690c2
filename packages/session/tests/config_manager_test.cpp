#include "backupy/session/config_manager.hpp"

#include <gtest/gtest.h>

#include "test_state_dir.hpp"

namespace backupy::session {
namespace {

const std::string kKey(64, 'a');
const std::string kOtherKey(64, 'b');

backup::v1::AgentConfig config_with(std::uint64_t version, std::string password = "pw-1234") {
  backup::v1::AgentConfig config;
  config.set_version(version);
  auto* target = config.add_targets();
  target->set_id("pg1");
  target->set_type(backup::v1::POSTGRESQL);
  target->mutable_connection()->set_host("db");
  target->mutable_connection()->set_password_secret_ref(password);
  auto* job = config.add_jobs();
  job->set_id("nightly");
  job->set_target_id("pg1");
  job->set_cron("0 3 * * *");
  return config;
}

class ConfigManagerTest : public ::testing::Test {
 protected:
  testing::TestStateDir dir_;
};

TEST_F(ConfigManagerTest, StartsEmptyThenAppliesAndPublishes) {
  auto db = dir_.open();
  state::ConfigStore store(*db, kKey);
  ConfigManager manager(store);
  EXPECT_EQ(manager.version(), 0u);
  int published = 0;
  manager.on_change([&](const ConfigSnapshot& s) {
    ++published;
    EXPECT_EQ(s->version(), 3u);
  });
  EXPECT_EQ(manager.apply(config_with(3), "test").kind, ApplyOutcome::Kind::applied);
  EXPECT_EQ(manager.version(), 3u);
  EXPECT_EQ(published, 1);
}

TEST_F(ConfigManagerTest, SameVersionIsANoOpAndOlderVersionIsStale) {
  auto db = dir_.open();
  state::ConfigStore store(*db, kKey);
  ConfigManager manager(store);
  ASSERT_EQ(manager.apply(config_with(5), "test").kind, ApplyOutcome::Kind::applied);
  EXPECT_EQ(manager.apply(config_with(5), "test").kind, ApplyOutcome::Kind::unchanged);
  const auto stale = manager.apply(config_with(4), "test");
  EXPECT_EQ(stale.kind, ApplyOutcome::Kind::stale);
  EXPECT_FALSE(stale.accepted());
  EXPECT_EQ(stale.reason, "config version 4 is older than the applied version 5; ignored");
  EXPECT_EQ(manager.version(), 5u);
}

TEST_F(ConfigManagerTest, InvalidSnapshotIsRejectedAndTheLastGoodOneStays) {
  auto db = dir_.open();
  state::ConfigStore store(*db, kKey);
  ConfigManager manager(store);
  ASSERT_TRUE(manager.apply(config_with(1), "test").accepted());
  auto bad = config_with(2);
  bad.mutable_jobs(0)->set_target_id("missing");
  const auto outcome = manager.apply(bad, "test");
  EXPECT_EQ(outcome.kind, ApplyOutcome::Kind::rejected);
  EXPECT_NE(outcome.reason.find("config version 2 rejected"), std::string::npos);
  EXPECT_NE(outcome.reason.find("\"missing\""), std::string::npos);
  EXPECT_EQ(manager.version(), 1u);
  EXPECT_EQ(manager.current()->jobs(0).target_id(), "pg1");
}

TEST_F(ConfigManagerTest, PersistedSnapshotIsLoadedAtStartup) {
  {
    auto db = dir_.open();
    state::ConfigStore store(*db, kKey);
    ConfigManager manager(store);
    ASSERT_TRUE(manager.apply(config_with(7), "test").accepted());
  }
  auto db = dir_.open();
  state::ConfigStore store(*db, kKey);
  ConfigManager manager(store);
  EXPECT_EQ(manager.version(), 7u);
  EXPECT_EQ(manager.current()->targets(0).connection().password_secret_ref(), "pw-1234");
  EXPECT_FALSE(manager.needs_fresh_config());
}

TEST_F(ConfigManagerTest, KeyChangeDropsSecretsAndAcceptsTheSameVersionAgain) {
  {
    auto db = dir_.open();
    state::ConfigStore store(*db, kKey);
    ConfigManager manager(store);
    ASSERT_TRUE(manager.apply(config_with(7), "test").accepted());
  }
  auto db = dir_.open();
  state::ConfigStore store(*db, kOtherKey);
  ConfigManager manager(store);
  EXPECT_TRUE(manager.needs_fresh_config());
  EXPECT_EQ(manager.current()->targets(0).connection().password_secret_ref(), "");
  // The server's fresh copy has the same version: it must be applied, not skipped.
  EXPECT_EQ(manager.apply(config_with(7, "new-pw-99"), "test").kind, ApplyOutcome::Kind::applied);
  EXPECT_FALSE(manager.needs_fresh_config());
  EXPECT_EQ(manager.current()->targets(0).connection().password_secret_ref(), "new-pw-99");
}

}  // namespace
}  // namespace backupy::session
