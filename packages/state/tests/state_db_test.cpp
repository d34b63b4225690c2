#include "backupy/state/state_db.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "migrations.hpp"
#include "temp_dir.hpp"

namespace backupy::state {
namespace {

using ::testing::HasSubstr;

class StateDbTest : public testing::TempDirTest {
 protected:
  static std::int64_t query_int(StateDb& db, const char* sql) {
    std::int64_t value = -1;
    db.with_connection([&](sqlite3* conn) {
      sqlite::Statement stmt(conn, sql);
      if (stmt.step()) value = stmt.column_int64(0);
    });
    return value;
  }
  static std::string query_text(StateDb& db, const char* sql) {
    std::string value;
    db.with_connection([&](sqlite3* conn) {
      sqlite::Statement stmt(conn, sql);
      if (stmt.step()) value = stmt.column_blob(0);
    });
    return value;
  }
  static void add_note(StateDb& db, std::int64_t value) {
    db.transaction([&](sqlite3* conn) {
      sqlite::exec(conn, "CREATE TABLE IF NOT EXISTS note (x INTEGER)");
      sqlite::Statement(conn, "INSERT INTO note VALUES (?1)").bind(1, value).run();
    });
  }
  static std::string open_error(const std::filesystem::path& file, StateDb::Mode mode) {
    try {
      StateDb::open(file, mode);
    } catch (const StateError& e) {
      return e.what();
    }
    return "no error";
  }
};

TEST_F(StateDbTest, CreatesParentDirectoryAndMigrates) {
  const auto file = dir_ / "a" / "b" / "state.db";
  auto db = StateDb::open(file);
  EXPECT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(db->path(), file);
  EXPECT_FALSE(db->read_only());
  EXPECT_EQ(query_int(*db, "PRAGMA user_version"), detail::schema_version());
  EXPECT_EQ(query_text(*db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_int(*db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(query_int(*db, "PRAGMA busy_timeout"), 5000);
  EXPECT_EQ(query_int(*db, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(query_int(*db,
                      "SELECT count(*) FROM sqlite_master WHERE name IN "
                      "('config_snapshot', 'outbox', 'outbox_class_count')"),
            3);
}

TEST_F(StateDbTest, DatabaseFileIsPrivate) {
  auto db = StateDb::open(db_path());
  struct stat st {};
  ASSERT_EQ(::stat(db_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(StateDbTest, ReopenKeepsDataAndDoesNotRemigrate) {
  {
    auto db = StateDb::open(db_path());
    add_note(*db, 42);
  }
  auto db = StateDb::open(db_path());
  EXPECT_EQ(query_int(*db, "PRAGMA user_version"), detail::schema_version());
  EXPECT_EQ(query_int(*db, "SELECT x FROM note"), 42);
}

TEST_F(StateDbTest, RefusesSchemaFromNewerAgent) {
  {
    auto db = StateDb::open(db_path());
    db->with_connection([](sqlite3* conn) {
      sqlite::exec(conn,
                   ("PRAGMA user_version=" + std::to_string(detail::schema_version() + 1)).c_str());
    });
  }
  for (auto mode : {StateDb::Mode::read_write, StateDb::Mode::read_only}) {
    const std::string error = open_error(db_path(), mode);
    EXPECT_THAT(error, HasSubstr(db_path().string()));
    EXPECT_THAT(error, HasSubstr("newer than this agent supports"));
  }
}

TEST_F(StateDbTest, ReadOnlyRefusesUnmigratedDatabase) {
  std::ofstream(db_path()).close();  // an empty file is an empty database
  EXPECT_THAT(open_error(db_path(), StateDb::Mode::read_only), HasSubstr("open it read-write"));
}

TEST_F(StateDbTest, OpenErrorsNameTheFileAndTheReason) {
  const auto missing = dir_ / "missing.db";
  EXPECT_EQ(open_error(missing, StateDb::Mode::read_only),
            "cannot open state database " + missing.string() + ": unable to open database file");
  EXPECT_FALSE(std::filesystem::exists(missing));  // read-only never creates

  std::ofstream(dir_ / "plain-file") << "x";
  const std::string under_file =
      open_error(dir_ / "plain-file" / "state.db", StateDb::Mode::read_write);
  EXPECT_THAT(under_file, HasSubstr((dir_ / "plain-file" / "state.db").string()));

  std::ofstream(db_path()) << std::string(4096, 'z');
  const std::string garbage = open_error(db_path(), StateDb::Mode::read_write);
  EXPECT_THAT(garbage, HasSubstr(db_path().string()));
  EXPECT_THAT(garbage, HasSubstr("file is not a database"));
}

TEST_F(StateDbTest, ReadOnlySeesCommittedDataWhileWriterIsOpen) {
  auto writer = StateDb::open(db_path());
  add_note(*writer, 1);
  auto reader = StateDb::open(db_path(), StateDb::Mode::read_only);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(query_int(*reader, "SELECT count(*) FROM note"), 1);

  add_note(*writer, 2);  // committed after the reader opened
  EXPECT_EQ(query_int(*reader, "SELECT count(*) FROM note"), 2);

  // Uncommitted writes stay invisible to the other connection.
  writer->transaction([&](sqlite3* conn) {
    sqlite::exec(conn, "INSERT INTO note VALUES (3)");
    EXPECT_EQ(query_int(*reader, "SELECT count(*) FROM note"), 2);
  });
  EXPECT_EQ(query_int(*reader, "SELECT count(*) FROM note"), 3);

  EXPECT_THROW(add_note(*reader, 4), StateError);
  // A read transaction on the read-only connection is fine.
  reader->transaction([&](sqlite3* conn) {
    sqlite::Statement stmt(conn, "SELECT sum(x) FROM note");
    ASSERT_TRUE(stmt.step());
    EXPECT_EQ(stmt.column_int64(0), 6);
  });
}

TEST_F(StateDbTest, ReadOnlyOpensAfterTheWriterHasGone) {
  {
    auto writer = StateDb::open(db_path());
    add_note(*writer, 5);
  }
  auto reader = StateDb::open(db_path(), StateDb::Mode::read_only);
  EXPECT_EQ(query_int(*reader, "SELECT x FROM note"), 5);
  // And a writer may come back while the reader stays open.
  auto writer = StateDb::open(db_path());
  add_note(*writer, 6);
  EXPECT_EQ(query_int(*reader, "SELECT count(*) FROM note"), 2);
}

TEST_F(StateDbTest, TransactionRollsBackOnExceptionAndRethrows) {
  auto db = StateDb::open(db_path());
  add_note(*db, 1);
  EXPECT_THROW(db->transaction([](sqlite3* conn) {
    sqlite::exec(conn, "INSERT INTO note VALUES (2)");
    throw std::logic_error("boom");
  }),
               std::logic_error);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 1);
  add_note(*db, 3);  // the connection is usable again
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 2);
}

TEST_F(StateDbTest, FailingStatementInsideTransactionRollsBack) {
  auto db = StateDb::open(db_path());
  add_note(*db, 1);
  EXPECT_THROW(db->transaction([](sqlite3* conn) {
    sqlite::exec(conn, "INSERT INTO note VALUES (2)");
    sqlite::Statement(conn, "INSERT INTO no_such_table VALUES (1)").run();
  }),
               StateError);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 1);
  // A failing step must not leak its statement either.
  EXPECT_THROW(db->transaction([](sqlite3* conn) {
    sqlite::Statement(conn, "INSERT INTO note VALUES (?1)").bind_text(1, "x").run();
    sqlite::Statement(conn, "CREATE TABLE note (x)").run();  // already exists
  }),
               StateError);
  db->with_connection([](sqlite3* conn) { EXPECT_EQ(sqlite3_next_stmt(conn, nullptr), nullptr); });
}

TEST_F(StateDbTest, NestedTransactionsJoinTheOuterOne) {
  auto db = StateDb::open(db_path());
  db->transaction([&](sqlite3* conn) {
    add_note(*db, 1);  // a store's own transaction, inside ours
    sqlite::exec(conn, "INSERT INTO note VALUES (2)");
  });
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 2);
  // A failure after the inner "commit" still undoes the inner change.
  EXPECT_THROW(db->transaction([&](sqlite3*) {
    add_note(*db, 3);
    throw std::logic_error("after the inner transaction");
  }),
               std::logic_error);
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 2);
  add_note(*db, 4);  // depth is back to zero: a fresh transaction works
  EXPECT_EQ(query_int(*db, "SELECT count(*) FROM note"), 3);
}

}  // namespace
}  // namespace backupy::state
