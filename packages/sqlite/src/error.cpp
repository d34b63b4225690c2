#include "backupy/sqlite/error.hpp"

namespace backupy::sqlite {

std::string db_file(sqlite3* db) {
  const char* name = sqlite3_db_filename(db, "main");
  return name != nullptr ? name : "";
}

void throw_sqlite(sqlite3* db, std::string_view what) {
  std::string message(what);
  message += ' ';
  message += db_file(db);
  message += ": ";
  message += sqlite3_errmsg(db);
  throw Error(message);
}

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) == SQLITE_OK) return;
  // sqlite3_exec reports through its own buffer; copy it before freeing.
  std::string reason = error != nullptr ? error : sqlite3_errmsg(db);
  sqlite3_free(error);
  throw Error("cannot run \"" + std::string(sql) + "\" on " + db_file(db) + ": " + reason);
}

}  // namespace backupy::sqlite
