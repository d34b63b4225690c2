#include "backupy/state/config_store.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>
#include <vector>

#include "backupy/core/time.hpp"
#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "temp_dir.hpp"

namespace backupy::state {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr std::string_view kAgentKey = "agent-key-0123456789abcdef";
constexpr std::string_view kOtherKey = "agent-key-rotated-ffffffff";
constexpr std::string_view kPassword = "S3cr3t-Pa55w0rd-xyzzy";

backup::v1::AgentConfig make_config(std::uint64_t version, std::string_view password = kPassword) {
  backup::v1::AgentConfig config;
  config.set_version(version);
  auto* pg = config.add_targets();
  pg->set_id("orders-db");
  pg->set_display_name("orders-primary-display-name");
  pg->mutable_connection()->set_host("10.0.0.5");
  pg->mutable_connection()->set_port(5432);
  pg->mutable_connection()->set_username("backup");
  pg->mutable_connection()->set_password_secret_ref(std::string(password));
  auto* mysql = config.add_targets();
  mysql->set_id("billing-db");
  mysql->mutable_connection()->set_password_secret_ref("second-" + std::string(password));
  config.add_targets()->set_id("no-connection");  // must stay without a connection
  auto* job = config.add_jobs();
  job->set_id("nightly");
  job->set_target_id("orders-db");
  job->set_cron("0 3 * * *");
  return config;
}

backup::v1::AgentConfig without_secrets(backup::v1::AgentConfig config) {
  for (auto& target : *config.mutable_targets()) {
    if (target.has_connection()) target.mutable_connection()->clear_password_secret_ref();
  }
  return config;
}

class ConfigStoreTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = StateDb::open(db_path());
  }
  void TearDown() override {
    db_.reset();
    TempDirTest::TearDown();
  }
  void set_column(const char* sql, std::string_view blob) {
    db_->transaction([&](sqlite3* conn) { sqlite::Statement(conn, sql).bind_blob(1, blob).run(); });
  }
  std::unique_ptr<StateDb> db_;
};

TEST_F(ConfigStoreTest, LoadBeforeAnySaveIsNullopt) {
  ConfigStore store(*db_, kAgentKey);
  EXPECT_FALSE(store.load().has_value());
}

TEST_F(ConfigStoreTest, RoundTripsWithSecrets) {
  const auto config = make_config(7);
  const std::uint64_t before = core::now_ms();
  ConfigStore(*db_, kAgentKey).save(config);
  const std::uint64_t after = core::now_ms();

  const auto loaded = ConfigStore(*db_, kAgentKey).load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_FALSE(loaded->secrets_dropped);
  EXPECT_TRUE(MessageDifferencer::Equals(loaded->config, config)) << loaded->config.DebugString();
  EXPECT_FALSE(loaded->config.targets(2).has_connection());
  EXPECT_GE(loaded->saved_at_ms, before);
  EXPECT_LE(loaded->saved_at_ms, after);
}

TEST_F(ConfigStoreTest, SurvivesReopenAndReadsThroughReadOnlyConnection) {
  const auto config = make_config(3);
  ConfigStore(*db_, kAgentKey).save(config);
  auto reader = StateDb::open(db_path(), StateDb::Mode::read_only);
  const auto loaded = ConfigStore(*reader, kAgentKey).load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(loaded->config, config));

  reader.reset();
  db_.reset();
  db_ = StateDb::open(db_path());
  EXPECT_TRUE(MessageDifferencer::Equals(ConfigStore(*db_, kAgentKey).load()->config, config));
}

TEST_F(ConfigStoreTest, OtherAgentKeyDropsSecretsButKeepsTheRest) {
  const auto config = make_config(9);
  ConfigStore(*db_, kAgentKey).save(config);

  ConfigStore rotated(*db_, kOtherKey);
  std::optional<StoredConfig> loaded;
  ASSERT_NO_THROW(loaded = rotated.load());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->secrets_dropped);
  EXPECT_TRUE(MessageDifferencer::Equals(loaded->config, without_secrets(config)))
      << loaded->config.DebugString();
  for (const auto& target : loaded->config.targets()) {
    EXPECT_TRUE(target.connection().password_secret_ref().empty());
  }

  // The fresh config from the control plane is then stored under the new key.
  rotated.save(config);
  const auto reloaded = rotated.load();
  EXPECT_FALSE(reloaded->secrets_dropped);
  EXPECT_TRUE(MessageDifferencer::Equals(reloaded->config, config));
}

TEST_F(ConfigStoreTest, SecretsAreBoundToTheSnapshotVersion) {
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(10));
  // Splice a config blob of another version next to the sealed secrets.
  std::string other_blob;
  ASSERT_TRUE(without_secrets(make_config(11)).SerializeToString(&other_blob));
  set_column("UPDATE config_snapshot SET config = ?1", other_blob);
  const auto loaded = store.load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->secrets_dropped);
  EXPECT_EQ(loaded->config.version(), 11u);
}

TEST_F(ConfigStoreTest, DamagedSecretsAreDroppedNotThrown) {
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(1));
  set_column("UPDATE config_snapshot SET sealed_secrets = ?1", "short");
  EXPECT_TRUE(store.load()->secrets_dropped);
  set_column("UPDATE config_snapshot SET key_check = ?1", "");
  EXPECT_TRUE(store.load()->secrets_dropped);
}

TEST_F(ConfigStoreTest, CorruptConfigBlobThrowsStateError) {
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(1));
  set_column("UPDATE config_snapshot SET config = ?1", std::string("\xff\xff\xff", 3));
  EXPECT_THROW(store.load(), StateError);
}

TEST_F(ConfigStoreTest, DuplicateTargetIdsKeepTheirOwnSecrets) {
  backup::v1::AgentConfig config;
  config.set_version(2);
  for (const char* password : {"first", "second"}) {
    auto* target = config.add_targets();
    target->set_id("same");
    target->mutable_connection()->set_password_secret_ref(password);
  }
  ConfigStore store(*db_, kAgentKey);
  store.save(config);
  EXPECT_TRUE(MessageDifferencer::Equals(store.load()->config, config));
}

TEST_F(ConfigStoreTest, NoPlaintextPasswordInDatabaseFiles) {
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(1));
  store.save(make_config(2));  // leave an old row's pages behind as well
  ASSERT_FALSE(store.load()->secrets_dropped);

  const auto all_files = [&] {
    return slurp(db_path()) + slurp(db_path().string() + "-wal") +
           slurp(db_path().string() + "-shm");
  };
  // With the writer open the data sits in the WAL; the search must see it.
  std::string bytes = all_files();
  ASSERT_NE(bytes.find("orders-primary-display-name"), std::string::npos);
  EXPECT_EQ(bytes.find(kPassword), std::string::npos);
  EXPECT_EQ(bytes.find("hunter2"), std::string::npos);

  db_.reset();  // checkpoints the WAL into the main file
  bytes = all_files();
  ASSERT_NE(bytes.find("orders-primary-display-name"), std::string::npos);
  EXPECT_EQ(bytes.find(kPassword), std::string::npos);
}

TEST_F(ConfigStoreTest, SaveReplacesTheSnapshot) {
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(1, "pw-1"));
  store.save(make_config(2, "pw-2"));
  const auto loaded = store.load();
  EXPECT_TRUE(MessageDifferencer::Equals(loaded->config, make_config(2, "pw-2")));
  db_->with_connection([](sqlite3* conn) {
    sqlite::Statement count(conn, "SELECT count(*) FROM config_snapshot");
    ASSERT_TRUE(count.step());
    EXPECT_EQ(count.column_int64(0), 1);
  });

  // A writer that fails half-way leaves the previous snapshot untouched.
  EXPECT_THROW(db_->transaction([](sqlite3* conn) {
    sqlite::exec(conn, "DELETE FROM config_snapshot");
    throw StateError("simulated crash");
  }),
               StateError);
  EXPECT_EQ(store.load()->config.version(), 2u);
}

TEST_F(ConfigStoreTest, ConcurrentReadersNeverSeeAMixedSnapshot) {
  // Each version carries its own password; a torn read would pair a config
  // with secrets sealed for another version and report secrets_dropped.
  ConfigStore store(*db_, kAgentKey);
  store.save(make_config(0, "pw-0"));
  auto reader_db = StateDb::open(db_path(), StateDb::Mode::read_only);
  ConfigStore reader(*reader_db, kAgentKey);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t v = 1; v <= 100; ++v) store.save(make_config(v, "pw-" + std::to_string(v)));
    done = true;
  });
  int reads = 0;
  int torn = 0;  // counted, not ASSERTed: returning early would skip the join
  while (!done || reads == 0) {
    for (ConfigStore* s : {&store, &reader}) {
      const auto loaded = s->load();
      ++reads;
      if (!loaded || loaded->secrets_dropped ||
          loaded->config.targets(0).connection().password_secret_ref() !=
              "pw-" + std::to_string(loaded->config.version())) {
        ++torn;
      }
    }
  }
  writer.join();
  EXPECT_EQ(torn, 0) << "out of " << reads << " reads";
  EXPECT_EQ(store.load()->config.version(), 100u);
}

}  // namespace
}  // namespace backupy::state
