#pragma once
// One place that turns a SQLite failure into a StateError naming the file.
#include <sqlite3.h>

#include <string>
#include <string_view>

#include "backupy/state/state_db.hpp"

namespace backupy::state::detail {

// The main database file of a connection ("" for an in-memory database).
std::string db_file(sqlite3* db);

// Throws StateError("<what> <file>: <sqlite error text>").
[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what);

// Runs SQL without results (pragmas, BEGIN/COMMIT, DDL); throws on failure.
void exec(sqlite3* db, const char* sql);

}  // namespace backupy::state::detail
