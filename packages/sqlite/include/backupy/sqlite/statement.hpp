#pragma once
// RAII prepared statement: finalized on destruction, so an exception between
// prepare and the end of a query can never leak it or leave it active.
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace backupy::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQLite. Values are copied (SQLITE_TRANSIENT)
  // so callers may pass temporaries.
  Statement& bind(int index, std::int64_t value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_text(int index, std::string_view text);
  Statement& bind_null(int index);

  // True while a row is available; false when done. Throws sqlite::Error.
  bool step();
  // Steps a statement that returns no rows (INSERT/UPDATE/DELETE).
  void run();
  // Makes the statement reusable and drops its bindings.
  void reset();

  // Columns are 0-based, as in SQLite.
  std::int64_t column_int64(int column) const;
  std::string column_blob(int column) const;
  bool column_is_null(int column) const;

  sqlite3_stmt* get() const { return stmt_; }

 private:
  [[noreturn]] void fail(std::string_view what) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;  // owned
};

// Resets a reused (cached) statement when the scope ends, however it ends:
// an un-reset SELECT would keep its read transaction, and so a stale
// snapshot and a blocked WAL checkpoint, alive on the connection.
class ScopedReset {
 public:
  explicit ScopedReset(Statement& stmt) : stmt_(stmt) {}
  ~ScopedReset() { stmt_.reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement& stmt_;
};

}  // namespace backupy::sqlite
