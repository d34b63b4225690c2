#pragma once
// Opening a SQLite database the way both the agent's state and the control plane's catalog
// want it: WAL, a busy timeout, foreign keys on, and a forward-only schema migrated on open.
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

namespace backupy::sqlite {

struct ConnectionClose {
  // close_v2 never fails with SQLITE_BUSY: a straggling statement turns the
  // connection into a zombie that goes away with its last statement.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionClose>;

enum class Access { read_write, read_only };

// How a database names itself in messages, and its schema.
struct Schema {
  // Ordered forward migrations: entry i moves PRAGMA user_version i to i + 1. Never edit a
  // released entry: append a new one.
  std::span<const std::string_view> migrations;
  std::string_view what;     // "state database", "catalog"
  std::string_view program;  // "agent", "control plane" (who writes the file)
};

// Opens file and migrates it to schema.migrations.size(). read_write creates the file (0600,
// and a missing parent directory 0700), turns WAL on (synchronous=NORMAL: a commit survives a
// process crash; a power cut may lose the latest ones) and migrates in one transaction;
// read_only refuses a database that still needs migrating. Every connection gets a 5 s busy
// timeout, extended result codes and foreign keys. No SQLite-level mutex: callers serialise
// every use of the connection. Throws Error naming the file and the problem.
Connection open(const std::filesystem::path& file, Access access, const Schema& schema);

// PRAGMA user_version.
int user_version(sqlite3* db);

}  // namespace backupy::sqlite
