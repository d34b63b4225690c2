// SqliteDriver: the Driver-interface face of SqliteSource.
#include "backupy/drivers/sqlite_driver.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers {
namespace {

using test_support::TempDir;

DumpContext context_for(const std::filesystem::path& database, const TempDir& dir) {
  DumpContext context;
  context.target.set_id("lite");
  context.target.set_type(backup::v1::SQLITE);
  context.target.mutable_connection()->set_database(database.string());
  context.temp_dir = dir.path();
  return context;
}

void create_database(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (42);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
}

TEST(SqliteDriver, ProbesVersionAndSizeThenDumpsTheFile) {
  TempDir dir;
  const auto database = dir.path() / "app.db";
  create_database(database);
  auto driver = make_sqlite_driver(context_for(database, dir));
  EXPECT_EQ(driver->probe(), std::string("SQLite ") + sqlite3_libversion());
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(*driver->size_hint(), std::filesystem::file_size(database));
  stream::MemorySink out;
  driver->dump(out, {});
  ASSERT_GE(out.data().size(), 16u);
  EXPECT_EQ(out.data().substr(0, 15), "SQLite format 3");
}

TEST(SqliteDriver, MissingFileFailsTheProbeNamingTargetAndPath) {
  TempDir dir;
  auto driver = make_sqlite_driver(context_for(dir.path() / "absent.db", dir));
  try {
    driver->probe();
    FAIL() << "expected DriverError";
  } catch (const DriverError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("target lite"), std::string::npos) << message;
    EXPECT_NE(message.find("absent.db"), std::string::npos) << message;
  }
}

TEST(SqliteDriver, EmptyDatabasePathIsAConfigurationError) {
  TempDir dir;
  auto driver = make_sqlite_driver(context_for("", dir));
  EXPECT_THROW(driver->probe(), DriverError);
}

}  // namespace
}  // namespace backupy::drivers
