#include "backupy/sqlite/statement.hpp"

#include <limits>

#include "backupy/sqlite/error.hpp"

namespace backupy::sqlite {

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error("SQL text too long for " + db_file(db));
  }
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(stmt_);  // NULL-safe; prepare may leave a partial handle
    stmt_ = nullptr;
    throw_sqlite(db, "cannot prepare \"" + std::string(sql) + "\" on");
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail("cannot bind parameter on");
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob must still be a blob, not NULL: SQLite treats a NULL
  // data pointer as NULL, so point at something valid.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  if (sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    fail("cannot bind blob on");
  }
  return *this;
}

Statement& Statement::bind_text(int index, std::string_view text) {
  // As for blobs: an empty view may have a null data pointer, which SQLite
  // would bind as NULL rather than ''.
  const char* data = text.data() != nullptr ? text.data() : "";
  if (sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) !=
      SQLITE_OK) {
    fail("cannot bind text on");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail("cannot bind NULL on");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail("query failed on");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::column_blob(int column) const {
  // Pointer first, then size: the documented safe order for conversions.
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Statement::fail(std::string_view what) const {
  // sqlite3_errmsg reflects the latest call on this connection, which is the
  // failing one: callers serialise every use of a connection.
  throw_sqlite(db_, what);
}

}  // namespace backupy::sqlite
