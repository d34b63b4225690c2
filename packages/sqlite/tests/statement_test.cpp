#include "backupy/sqlite/statement.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "backupy/sqlite/error.hpp"

namespace backupy::sqlite {
namespace {

using ::testing::HasSubstr;

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
    db_.reset(raw);
    exec(db_.get(), "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, s TEXT)");
  }
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
};

TEST_F(StatementTest, BindsStepsAndReadsColumns) {
  const std::string binary("a\0b", 3);
  Statement(db_.get(), "INSERT INTO t VALUES (?1, ?2, ?3)")
      .bind(1, 7)
      .bind_blob(2, binary)
      .bind_text(3, "text")
      .run();
  Statement select(db_.get(), "SELECT id, b, s FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_int64(0), 7);
  EXPECT_EQ(select.column_blob(1), binary);
  EXPECT_EQ(select.column_blob(2), "text");
  EXPECT_FALSE(select.step());
}

TEST_F(StatementTest, BindsNull) {
  Statement(db_.get(), "INSERT INTO t (id, b) VALUES (1, ?1)").bind_null(1).run();
  Statement select(db_.get(), "SELECT b FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_TRUE(select.column_is_null(0));
}

TEST_F(StatementTest, EmptyBlobIsNotNull) {
  Statement(db_.get(), "INSERT INTO t (id, b) VALUES (1, ?1)").bind_blob(1, {}).run();
  Statement select(db_.get(), "SELECT b FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_FALSE(select.column_is_null(0));
  EXPECT_EQ(select.column_blob(0), "");
}

TEST_F(StatementTest, EmptyTextIsNotNull) {
  // A default string_view has a null data pointer; it must still bind ''.
  Statement(db_.get(), "INSERT INTO t (id, s) VALUES (1, ?1)").bind_text(1, {}).run();
  Statement select(db_.get(), "SELECT s, typeof(s) FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_FALSE(select.column_is_null(0));
  EXPECT_EQ(select.column_blob(1), "text");
}

TEST_F(StatementTest, ResetAllowsReuse) {
  Statement insert(db_.get(), "INSERT INTO t (id) VALUES (?1)");
  for (int id = 1; id <= 3; ++id) {
    insert.reset();
    insert.bind(1, id).run();
  }
  Statement count(db_.get(), "SELECT count(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int64(0), 3);
}

TEST_F(StatementTest, ErrorsCarryTheSqlAndTheReason) {
  try {
    Statement(db_.get(), "SELEKT 1");
    FAIL() << "prepare must fail";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("SELEKT 1"));
    EXPECT_THAT(e.what(), HasSubstr("syntax error"));
  }
  Statement(db_.get(), "INSERT INTO t (id) VALUES (1)").run();
  try {
    Statement(db_.get(), "INSERT INTO t (id) VALUES (1)").run();
    FAIL() << "duplicate key must fail";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("UNIQUE constraint failed"));
  }
}

TEST_F(StatementTest, MovedFromStatementIsInert) {
  Statement first(db_.get(), "SELECT 1");
  Statement second(std::move(first));
  ASSERT_TRUE(second.step());
  EXPECT_EQ(second.column_int64(0), 1);
}

}  // namespace
}  // namespace backupy::sqlite
