#pragma once
// One place that turns a SQLite failure into an Error naming the file.
#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace backupy::sqlite {

// Any storage failure; what() names the file and the SQLite reason. The agent's state
// (state::StateError) and the control plane's catalog report through this type.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The main database file of a connection ("" for an in-memory database).
std::string db_file(sqlite3* db);

// Throws Error("<what> <file>: <sqlite error text>").
[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what);

// Runs SQL without results (pragmas, BEGIN/COMMIT, DDL); throws on failure.
void exec(sqlite3* db, const char* sql);

}  // namespace backupy::sqlite
