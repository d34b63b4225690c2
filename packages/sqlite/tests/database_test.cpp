#include "backupy/sqlite/database.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <string_view>

#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"

namespace backupy::sqlite {
namespace {

using ::testing::HasSubstr;

constexpr std::array<std::string_view, 2> kTwoSteps = {
    "CREATE TABLE parent (id INTEGER PRIMARY KEY);",
    "CREATE TABLE child (id INTEGER PRIMARY KEY, "
    "parent INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE);"};

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/backupy-sqlite-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Schema schema(std::size_t steps) const {
    return {std::span<const std::string_view>(kTwoSteps).first(steps), "test database", "tester"};
  }
  std::filesystem::path file() const { return dir_ / "sub" / "test.db"; }

  std::filesystem::path dir_;
};

TEST_F(DatabaseTest, CreatesTheFilePrivateInWalModeWithForeignKeys) {
  const Connection db = open(file(), Access::read_write, schema(2));
  EXPECT_EQ(user_version(db.get()), 2);
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Statement mode(db.get(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_blob(0), "wal");
  // Foreign keys are on: the cascade removes the child row.
  exec(db.get(), "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (10, 1);");
  exec(db.get(), "DELETE FROM parent");
  Statement count(db.get(), "SELECT count(*) FROM child");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int64(0), 0);
}

TEST_F(DatabaseTest, MigratesForwardOnlyTheMissingSteps) {
  { const Connection db = open(file(), Access::read_write, schema(1)); }
  {
    // Read-only cannot migrate: it says how to.
    try {
      open(file(), Access::read_only, schema(2));
      FAIL() << "expected an Error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("older than 2"));
      EXPECT_THAT(e.what(), HasSubstr("start the tester"));
    }
  }
  const Connection db = open(file(), Access::read_write, schema(2));
  EXPECT_EQ(user_version(db.get()), 2);
}

TEST_F(DatabaseTest, RefusesANewerSchemaNamingTheFile) {
  { const Connection db = open(file(), Access::read_write, schema(2)); }
  try {
    open(file(), Access::read_write, schema(1));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("test database " + file().string()));
    EXPECT_THAT(e.what(), HasSubstr("newer than this tester supports (1)"));
  }
}

}  // namespace
}  // namespace backupy::sqlite
