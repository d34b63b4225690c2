// The catalog: schema, DEK sealing, reload, bounded tables, the master key and its YAML.
#include "catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent_status.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/sqlite/database.hpp"
#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "catalog_schema.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using ::testing::HasSubstr;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

const std::string kMasterKey(64, 'm');

class CatalogTest : public ::testing::Test {
 protected:
  void TearDown() override { core::forget_all_secrets(); }

  std::filesystem::path file() const { return dir_.path() / "catalog.db"; }
  std::unique_ptr<Catalog> open(const std::string& key = kMasterKey) const {
    return Catalog::open(file(), key, log_);
  }
  // A second connection, as an operator's sqlite3 shell would have.
  sqlite::Connection peek() const {
    return sqlite::open(file(), sqlite::Access::read_only,
                        {catalog_migrations(), "catalog", "control plane"});
  }
  std::int64_t scalar(const std::string& sql) const {
    const sqlite::Connection db = peek();
    sqlite::Statement stmt(db.get(), sql);
    return stmt.step() ? stmt.column_int64(0) : -1;
  }

  TempDir dir_;
  core::Logger log_{"control-plane"};
};

// Loads every run of catalog into a fresh map.
std::map<std::string, RunRecord, std::less<>> load(const Catalog& catalog) {
  std::map<std::string, RunRecord, std::less<>> runs;
  catalog.load_runs([&](const std::string& id) -> RunRecord& { return runs[id]; });
  return runs;
}

TEST_F(CatalogTest, StoresEveryRunFieldAndSealsTheDekUnderTheRunId) {
  RunRecord run;
  run.run_id = "run-00000000000000aa";
  run.job_id = "nightly";
  run.agent_id = "agent-1";
  run.s3_key = "agents/agent-1/nightly/run-00000000000000aa.bkpy";
  run.created_ms = 1000;
  run.sequence = 7;
  run.trigger = RunTrigger::scheduled;
  {
    const auto catalog = open();
    catalog->insert_run(run);
    run.status = RunStatus::success;
    run.sent_ms = 1100;
    run.finished_ms = 1900;
    run.current_step = "uploading";
    run.progress_percent = 100;
    run.completed = true;
    run.size_bytes = 4096;
    run.sha256 = std::string(64, 'c');
    run.compression = "zstd";
    run.db_engine_version = "3.40";
    run.updates = 3;
    const CatalogJobUpdate update{"backup_completed", 1900, "success", 100, "uploading", ""};
    catalog->update_run(run, &update);
  }
  // The DEK is nowhere in the file in the clear.
  const std::string bytes = read_text(file());
  const std::string dek(run.dek.bytes().begin(), run.dek.bytes().end());
  EXPECT_EQ(bytes.find(dek), std::string::npos);

  const auto catalog = open();
  const auto runs = load(*catalog);
  ASSERT_EQ(runs.size(), 1u);
  const RunRecord& back = runs.begin()->second;
  EXPECT_EQ(back.run_id, run.run_id);
  EXPECT_EQ(back.job_id, "nightly");
  EXPECT_EQ(back.agent_id, "agent-1");
  EXPECT_EQ(back.s3_key, run.s3_key);
  EXPECT_EQ(back.created_ms, 1000u);
  EXPECT_EQ(back.sequence, 7u);
  EXPECT_EQ(back.trigger, RunTrigger::scheduled);
  EXPECT_TRUE(
      std::equal(back.dek.bytes().begin(), back.dek.bytes().end(), run.dek.bytes().begin()));
  EXPECT_EQ(back.status, RunStatus::success);
  EXPECT_EQ(back.sent_ms, 1100u);
  EXPECT_EQ(back.finished_ms, 1900u);
  EXPECT_EQ(back.current_step, "uploading");
  EXPECT_EQ(back.progress_percent, 100u);
  EXPECT_TRUE(back.completed);
  EXPECT_EQ(back.size_bytes, 4096u);
  EXPECT_EQ(back.sha256, run.sha256);
  EXPECT_EQ(back.compression, "zstd");
  EXPECT_EQ(back.db_engine_version, "3.40");
  EXPECT_EQ(back.updates, 3u);
  const auto updates = catalog->job_updates(run.run_id);
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].kind, "backup_completed");
  EXPECT_EQ(updates[0].status, "success");
}

TEST_F(CatalogTest, ADekMovedToAnotherRunDoesNotOpen) {
  {
    const auto catalog = open();
    RunRecord a;
    a.run_id = "run-a";
    a.sequence = 1;
    RunRecord b;
    b.run_id = "run-b";
    b.sequence = 2;
    catalog->insert_run(a);
    catalog->insert_run(b);
  }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &raw), SQLITE_OK);
    const sqlite::Connection db(raw);
    sqlite::exec(
        db.get(),
        "UPDATE runs SET sealed_dek = (SELECT sealed_dek FROM runs WHERE run_id = 'run-a') "
        "WHERE run_id = 'run-b'");
  }
  const auto catalog = open();
  try {
    load(*catalog);
    FAIL() << "expected an error";
  } catch (const sqlite::Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("run run-b has a data key that does not open"));
    EXPECT_THAT(e.what(), HasSubstr(file().string()));
  }
}

TEST_F(CatalogTest, RefusesAnotherMasterKeyAtOpen) {
  open();
  try {
    open(std::string(64, 'x'));
    FAIL() << "expected an error";
  } catch (const sqlite::Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("catalog " + file().string() + " was created under another master key"));
    EXPECT_EQ(std::string(e.what()).find(kMasterKey), std::string::npos);
  }
}

TEST_F(CatalogTest, EraseTakesTheRunsUpdatesAndIdempotencyKeys) {
  const auto catalog = open();
  RunRecord run;
  run.run_id = "run-a";
  run.sequence = 1;
  catalog->insert_run(run);
  catalog->insert_idempotency_key("key-1", "run-a");
  const CatalogJobUpdate update{"job_update", 5, "running", 10, "dumping", ""};
  catalog->update_run(run, &update);
  EXPECT_EQ(scalar("SELECT count(*) FROM job_updates"), 1);
  catalog->erase_run("run-a");
  EXPECT_EQ(scalar("SELECT count(*) FROM runs"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM job_updates"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys"), 0);
}

TEST_F(CatalogTest, KeepsAtMostTheNewestLogEventsPerAgent) {
  const auto catalog = open();
  backup::v1::LogEvent event;
  event.set_level(backup::v1::WARN);
  event.set_job_id("nightly");
  const std::size_t total = Catalog::kMaxLogEventsPerAgent + 25;
  for (std::size_t i = 0; i < total; ++i) {
    event.set_message("event " + std::to_string(i));
    catalog->record_log_event("agent-1", i, event);
  }
  event.set_message("other agent");
  catalog->record_log_event("agent-2", 1, event);
  EXPECT_EQ(catalog->log_event_count("agent-1"), Catalog::kMaxLogEventsPerAgent);
  EXPECT_EQ(catalog->log_event_count("agent-2"), 1u);
  // The oldest went, the newest stayed.
  EXPECT_EQ(scalar("SELECT min(received_ms) FROM log_events WHERE agent_id = 'agent-1'"), 25);
  EXPECT_EQ(scalar("SELECT max(received_ms) FROM log_events WHERE agent_id = 'agent-1'"),
            static_cast<std::int64_t>(total - 1));

  backup::v1::HealthCheckResult health;
  health.set_check_id("web");
  health.set_ok(true);
  catalog->record_health_result("agent-1", 7, health);
  EXPECT_EQ(catalog->health_result_count("agent-1"), 1u);
}

TEST_F(CatalogTest, RemembersAgentsAndClosesSessionsThePreviousProcessLeftOpen) {
  backup::v1::Register reg;
  reg.set_agent_version("1.2.3");
  reg.set_hostname("db-host");
  reg.set_last_known_config_version(4);
  backup::v1::Heartbeat heartbeat;
  heartbeat.set_config_version(5);
  {
    const auto catalog = open();
    AgentStatusBoard board;
    board.attach(*catalog);
    board.on_register("agent-1", "session-a", reg, 5, 1'000, "127.0.0.1:5000");
    board.on_heartbeat("agent-1", "session-a", heartbeat, 2'000);   // written: the first
    board.on_heartbeat("agent-1", "session-a", heartbeat, 30'000);  // throttled
    EXPECT_EQ(scalar("SELECT last_heartbeat_ms FROM agents"), 2'000);
    EXPECT_TRUE(
        catalog->record_heartbeat("agent-1", 2'000 + Catalog::kHeartbeatWriteIntervalMs, 5));
    // The process dies here: the session is never closed.
  }
  const auto catalog = open();
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE disconnected_ms = 0"), 0);
  EXPECT_EQ(scalar("SELECT disconnected_ms FROM sessions"),
            static_cast<std::int64_t>(2'000 + Catalog::kHeartbeatWriteIntervalMs));
  AgentStatusBoard board;
  board.attach(*catalog);
  const AgentStatus* status = board.find("agent-1");
  ASSERT_NE(status, nullptr);
  EXPECT_FALSE(status->connected);
  EXPECT_EQ(status->last_heartbeat_ms, 2'000 + Catalog::kHeartbeatWriteIntervalMs);
  EXPECT_EQ(status->disconnected_at_ms, 2'000 + Catalog::kHeartbeatWriteIntervalMs);
  EXPECT_EQ(status->agent_version, "1.2.3");
  EXPECT_EQ(status->hostname, "db-host");
  EXPECT_EQ(status->config_version_sent, 5u);
  EXPECT_EQ(status->config_version_acked, 5u);

  // A graceful close stores the reason and the latest heartbeat the board saw.
  board.on_register("agent-1", "session-b", reg, 5, 200'000, "127.0.0.1:5001");
  board.on_heartbeat("agent-1", "session-b", heartbeat, 200'100);  // throttled: too soon
  board.on_disconnect("agent-1", "session-b", 200'500, "idle timeout");
  EXPECT_EQ(scalar("SELECT last_heartbeat_ms FROM agents"), 200'100);
  EXPECT_EQ(scalar("SELECT count(*) FROM sessions WHERE close_reason = 'idle timeout' AND "
                   "disconnected_ms = 200500 AND remote = '127.0.0.1:5001'"),
            1);
}

// ------------------------------------------------------------------------ master key --

TEST_F(CatalogTest, GeneratesAPrivateMasterKeyOnceAndReusesIt) {
  const std::string first = catalog_master_key(file(), "", log_);
  const std::filesystem::path key_file = dir_.path() / "master.key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(first.size(), 64u);  // 32 random bytes as hex
  EXPECT_EQ(core::redact("k=" + first), "k=[REDACTED]");
  EXPECT_EQ(catalog_master_key(file(), "", log_), first);
  // A configured key wins, and the file is left alone.
  EXPECT_EQ(catalog_master_key(file(), kMasterKey, log_), kMasterKey);

  // A catalog whose generated key went missing is not given a new one.
  open(first);
  std::filesystem::remove(key_file);
  try {
    catalog_master_key(file(), "", log_);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("catalog " + file().string() + " exists but its master key " +
                                    key_file.string() + " does not"));
  }
  EXPECT_FALSE(std::filesystem::exists(key_file));

  write_text(key_file, "short\n");
  try {
    catalog_master_key(file(), "", log_);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(key_file.string() + " must hold at least 32 bytes, got 5"));
  }
}

}  // namespace
}  // namespace backupy::controlplane::detail

// ------------------------------------------------------------------------------ YAML --

namespace backupy::controlplane {
namespace {

using namespace testing;  // NOLINT: the shared helpers of test_support.hpp

std::vector<std::string> catalog_lines() {
  return {
      R"(listen: "127.0.0.1:0")",                               // 1
      R"(tls: {cert_file: server.crt, key_file: server.key})",  // 2
      R"(catalog_file: state/catalog.db)",                      // 3
      R"(master_key_file: keys/master.key)",                    // 4
  };
}

class CatalogConfigTest : public ConfigDirTest<> {
 protected:
  void SetUp() override {
    ConfigDirTest::SetUp();
    std::filesystem::create_directories(dir_.path() / "keys");
    write_text(dir_.path() / "keys" / "master.key", "\n" + std::string(48, 'k') + "\n");
    write_text(dir_.path() / "short.key", "0123456789");
    write_text(dir_.path() / "plain-file", "x");
  }
};

TEST_F(CatalogConfigTest, ResolvesTheCatalogAndReadsTheMasterKey) {
  ServerConfig config = parse_server_config(join_lines(catalog_lines()), "cp.yaml", dir_.path());
  EXPECT_EQ(config.catalog_file, dir_.path() / "state" / "catalog.db");
  EXPECT_EQ(config.master_key, std::string(48, 'k'));
  EXPECT_EQ(core::redact("x " + std::string(48, 'k')), "x [REDACTED]");

  // Defaults: catalog.db beside the YAML, master key generated at start-up.
  std::vector<std::string> bare = catalog_lines();
  bare.resize(2);
  config = parse_server_config(join_lines(bare), "cp.yaml", dir_.path());
  EXPECT_EQ(config.catalog_file, dir_.path() / "catalog.db");
  EXPECT_TRUE(config.master_key.empty());
}

TEST_F(CatalogConfigTest, ReportsBadValuesWithTheirLine) {
  const std::vector<ConfigErrorCase> cases = {
      {"EmptyCatalog", [](auto& l) { set_line(l, 3, R"(catalog_file: "")"); },
       "cp.yaml:3: catalog_file must not be empty"},
      {"CatalogIsADirectory", [](auto& l) { set_line(l, 3, "catalog_file: keys"); },
       "cp.yaml:3: catalog_file names a directory (\"$DIR/keys\"), not a file"},
      {"CatalogUnderAFile", [](auto& l) { set_line(l, 3, "catalog_file: plain-file/c.db"); },
       "cp.yaml:3: catalog_file cannot be created: \"$DIR/plain-file\" is not a directory"},
      {"MissingMasterKey", [](auto& l) { set_line(l, 4, "master_key_file: nope.key"); },
       "cp.yaml:4: master_key_file cannot read \"$DIR/nope.key\": No such file or directory"},
      {"ShortMasterKey", [](auto& l) { set_line(l, 4, "master_key_file: short.key"); },
       "cp.yaml:4: master_key_file must hold at least 32 bytes (e.g. `openssl rand -hex 32`), "
       "got 10"},
  };
  for (const ConfigErrorCase& error_case : cases) {
    SCOPED_TRACE(error_case.name);
    expect_config_error(error_case, catalog_lines(), dir_.path(),
                        [](const ConfigError& e, const std::string& expected) {
                          EXPECT_EQ(std::string(e.what()), expected);
                        });
  }
}

}  // namespace
}  // namespace backupy::controlplane

namespace backupy::controlplane::detail {
namespace {

// A catalog written by the previous release (schema v1) opens under v2: its runs are server
// runs whose DEKs are known, its agents are in v1 scheduling mode.
TEST_F(CatalogTest, AVersionOneCatalogMigratesToAgentCron) {
  std::string run_id;
  {
    std::unique_ptr<Catalog> catalog = open();
    RunStore runs(catalog.get());
    run_id = runs.create("nightly", "agent-1").run_id;
    CatalogAgent agent;
    agent.agent_id = "agent-1";
    agent.session_id = "s1";
    catalog->record_register(agent, "127.0.0.1");
  }
  {
    // Back to v1: drop what v2 added (SQLite >= 3.35 drops columns).
    const sqlite::Connection db = sqlite::open(file(), sqlite::Access::read_write,
                                               {catalog_migrations(), "catalog", "control plane"});
    for (const char* sql :
         {"ALTER TABLE agents DROP COLUMN agent_cron", "ALTER TABLE runs DROP COLUMN catch_up",
          "ALTER TABLE runs DROP COLUMN scheduled_for_ms", "ALTER TABLE runs DROP COLUMN dek_known",
          "ALTER TABLE runs DROP COLUMN dek_kms_id", "PRAGMA user_version = 1"}) {
      sqlite::Statement(db.get(), sql).run();
    }
  }
  std::unique_ptr<Catalog> catalog = open();
  EXPECT_EQ(scalar("PRAGMA user_version"), 2);
  const auto runs = load(*catalog);
  ASSERT_EQ(runs.size(), 1u);
  const RunRecord& run = runs.at(run_id);
  EXPECT_TRUE(run.dek_known);
  EXPECT_FALSE(run.catch_up);
  EXPECT_EQ(run.scheduled_for_ms, 0u);
  EXPECT_EQ(run.trigger, RunTrigger::manual);
  bool agent_cron = true;
  catalog->load_agents([&](const CatalogAgent& agent) { agent_cron = agent.agent_cron; });
  EXPECT_FALSE(agent_cron);
}

}  // namespace
}  // namespace backupy::controlplane::detail
