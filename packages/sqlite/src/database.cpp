#include "backupy/sqlite/database.hpp"

#include <fcntl.h>

#include <string>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "backupy/sqlite/transaction.hpp"

namespace backupy::sqlite {
namespace {

namespace fs = std::filesystem;

void prepare_location(const fs::path& file, const Schema& schema) {
  const fs::path parent = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      throw Error("cannot create directory " + parent.string() + " for " +
                  std::string(schema.what) + " " + file.string() + ": " + ec.message());
    }
    // The directory holds this program's data only; nobody else needs to list it.
    fs::permissions(parent, fs::perms::owner_all, ec);
  }
  // Create the file ourselves so it is 0600 from the first byte; SQLite gives
  // its -wal and -shm files the same mode. Failure is left for SQLite to
  // report, with its own wording.
  core::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
}

std::string text_pragma(sqlite3* db, const char* sql) {
  Statement stmt(db, sql);
  return stmt.step() ? stmt.column_blob(0) : std::string();
}

void configure(sqlite3* db, Access access) {
  sqlite3_extended_result_codes(db, 1);
  // Wait for a writer in another process (e.g. a migration) instead of
  // failing at once with SQLITE_BUSY.
  exec(db, "PRAGMA busy_timeout=5000");
  if (access == Access::read_write) {
    // WAL lets a second process read while the owner writes. It is persistent
    // in the file, so read-only connections inherit it without asking.
    const std::string journal = text_pragma(db, "PRAGMA journal_mode=WAL");
    if (journal != "wal") {
      throw Error("cannot enable WAL journal mode on " + db_file(db) + " (SQLite kept \"" +
                  journal + "\")");
    }
    // In WAL mode NORMAL is still corruption-safe; a power cut may lose the
    // last commits (the callers' delivery protocols replay them).
    exec(db, "PRAGMA synchronous=NORMAL");
  }
  exec(db, "PRAGMA foreign_keys=ON");
}

[[noreturn]] void throw_newer(const std::string& file, int version, const Schema& schema) {
  const std::string program(schema.program);
  throw Error(std::string(schema.what) + " " + file + " has schema version " +
              std::to_string(version) + ", newer than this " + program + " supports (" +
              std::to_string(schema.migrations.size()) + "); it was written by a newer " + program +
              ". Upgrade the " + program + " or move the file away");
}

void migrate(sqlite3* db, Access access, const Schema& schema) {
  const std::string file = db_file(db);
  const int known = static_cast<int>(schema.migrations.size());
  int version = user_version(db);
  if (version > known) throw_newer(file, version, schema);
  if (version == known) return;
  if (access == Access::read_only) {
    throw Error(std::string(schema.what) + " " + file + " has schema version " +
                std::to_string(version) + ", older than " + std::to_string(known) +
                "; open it read-write (start the " + std::string(schema.program) +
                ") once to migrate it");
  }

  // One transaction for all steps: a failed migration leaves the old schema.
  Transaction txn(db, "BEGIN IMMEDIATE");
  version = user_version(db);  // another process may have migrated meanwhile
  if (version > known) throw_newer(file, version, schema);
  for (int step = version; step < known; ++step) {
    exec(db, std::string(schema.migrations[static_cast<std::size_t>(step)]).c_str());
    // PRAGMA arguments cannot be bound; the value is our own integer.
    exec(db, ("PRAGMA user_version=" + std::to_string(step + 1)).c_str());
  }
  txn.commit();
}

}  // namespace

int user_version(sqlite3* db) {
  Statement stmt(db, "PRAGMA user_version");
  return stmt.step() ? static_cast<int>(stmt.column_int64(0)) : 0;
}

Connection open(const fs::path& file, Access access, const Schema& schema) {
  if (access == Access::read_write) prepare_location(file, schema);

  sqlite3* raw = nullptr;
  const int flags = (access == Access::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                  : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  Connection db(raw);  // sqlite3_open_v2 allocates a handle even on failure
  if (rc != SQLITE_OK) {
    throw Error("cannot open " + std::string(schema.what) + " " + file.string() + ": " +
                (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  configure(db.get(), access);
  migrate(db.get(), access, schema);
  return db;
}

}  // namespace backupy::sqlite
