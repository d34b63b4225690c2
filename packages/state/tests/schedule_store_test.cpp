#include "backupy/state/schedule_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <string>

#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "migrations.hpp"
#include "temp_dir.hpp"

namespace backupy::state {
namespace {

using std::chrono::sys_seconds;

constexpr sys_seconds kMonday3am{std::chrono::seconds{1'795'230'000}};

class ScheduleStoreTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    reopen();
  }
  void TearDown() override {
    db_.reset();
    TempDirTest::TearDown();
  }
  // Closes and opens the database again: what survives is what an agent restart finds.
  void reopen() {
    db_.reset();
    db_ = StateDb::open(db_path());
  }
  ScheduleStore store() { return ScheduleStore(*db_); }

  std::unique_ptr<StateDb> db_;
};

TEST_F(ScheduleStoreTest, AgentSchedulingIsOffUntilSet) {
  EXPECT_FALSE(store().agent_scheduling());
}

TEST_F(ScheduleStoreTest, AgentSchedulingPersistsAcrossReopen) {
  store().set_agent_scheduling(true);
  reopen();
  EXPECT_TRUE(store().agent_scheduling());
  store().set_agent_scheduling(false);  // a later server without agent_cron.v1
  reopen();
  EXPECT_FALSE(store().agent_scheduling());
}

TEST_F(ScheduleStoreTest, LastFirePersistsAcrossReopen) {
  EXPECT_EQ(store().last_fire("nightly"), std::nullopt);
  store().set_last_fire("nightly", kMonday3am);
  store().set_last_fire("hourly", kMonday3am + std::chrono::hours{5});
  reopen();
  EXPECT_EQ(store().last_fire("nightly"), kMonday3am);
  EXPECT_EQ(store().last_fire("hourly"), kMonday3am + std::chrono::hours{5});
  EXPECT_EQ(store().last_fire("weekly"), std::nullopt);
}

TEST_F(ScheduleStoreTest, SetLastFireReplaces) {
  store().set_last_fire("nightly", kMonday3am);
  store().set_last_fire("nightly", kMonday3am + std::chrono::days{1});
  EXPECT_EQ(store().last_fire("nightly"), kMonday3am + std::chrono::days{1});
  // The clock may be set back; the store keeps what it is told.
  store().set_last_fire("nightly", sys_seconds{std::chrono::seconds{-86400}});
  EXPECT_EQ(store().last_fire("nightly"), sys_seconds{std::chrono::seconds{-86400}});
}

TEST_F(ScheduleStoreTest, RetainJobsForgetsTheOthers) {
  for (const char* job : {"nightly", "hourly", "weekly", "job with 'quote'"}) {
    store().set_last_fire(job, kMonday3am);
  }
  store().retain_jobs({"hourly", "job with 'quote'", "never-fired"});
  reopen();
  EXPECT_EQ(store().last_fire("nightly"), std::nullopt);
  EXPECT_EQ(store().last_fire("weekly"), std::nullopt);
  EXPECT_EQ(store().last_fire("hourly"), kMonday3am);
  EXPECT_EQ(store().last_fire("job with 'quote'"), kMonday3am);
  EXPECT_EQ(store().last_fire("never-fired"), std::nullopt);  // retain adds nothing
  store().retain_jobs({});
  EXPECT_EQ(store().last_fire("hourly"), std::nullopt);
}

TEST_F(ScheduleStoreTest, RetainJobsLeavesTheFlagAlone) {
  store().set_agent_scheduling(true);
  store().set_last_fire("nightly", kMonday3am);
  store().retain_jobs({});
  EXPECT_TRUE(store().agent_scheduling());
}

TEST_F(ScheduleStoreTest, ReadOnlyOpenReadsWhatTheAgentWrote) {
  store().set_agent_scheduling(true);
  store().set_last_fire("nightly", kMonday3am);
  auto reader = StateDb::open(db_path(), StateDb::Mode::read_only);  // dump-state beside it
  ScheduleStore view(*reader);
  EXPECT_TRUE(view.agent_scheduling());
  EXPECT_EQ(view.last_fire("nightly"), kMonday3am);
  EXPECT_THROW(view.set_last_fire("nightly", kMonday3am), StateError);
}

// A database written by an agent that knew schema v2 (no scheduler tables).
class ScheduleStoreMigrationTest : public testing::TempDirTest {};

TEST_F(ScheduleStoreMigrationTest, V2DatabaseGainsTheSchedulerTables) {
  ASSERT_GE(detail::schema_version(), 3);
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> conn(raw, &sqlite3_close);
    sqlite::exec(raw, "PRAGMA journal_mode=WAL");
    sqlite::exec(raw, std::string(detail::migrations()[0]).c_str());
    sqlite::exec(raw, std::string(detail::migrations()[1]).c_str());
    sqlite::exec(raw, "PRAGMA user_version=2");
    sqlite::exec(raw, "INSERT INTO outbox (cls, payload, created_ms) VALUES (0, X'0A0B', 42)");
  }
  auto db = StateDb::open(db_path());
  ScheduleStore store(*db);
  EXPECT_FALSE(store.agent_scheduling());
  EXPECT_EQ(store.last_fire("nightly"), std::nullopt);
  store.set_last_fire("nightly", kMonday3am);
  EXPECT_EQ(store.last_fire("nightly"), kMonday3am);
  db->with_connection([](sqlite3* conn) {
    sqlite::Statement outbox(conn, "SELECT count(*) FROM outbox");
    ASSERT_TRUE(outbox.step());
    EXPECT_EQ(outbox.column_int64(0), 1);  // v2 data kept
  });
}

}  // namespace
}  // namespace backupy::state
