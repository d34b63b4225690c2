#include "backupy/state/state_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>

#include <optional>
#include <string>
#include <system_error>

#include "backupy/core/files.hpp"
#include "migrations.hpp"
#include "sqlite_error.hpp"
#include "statement.hpp"
#include "transaction.hpp"

namespace backupy::state {
namespace {

namespace fs = std::filesystem;

struct ConnectionClose {
  // close_v2 never fails with SQLITE_BUSY: a straggling statement turns the
  // connection into a zombie that goes away with its last statement.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionClose>;

void prepare_location(const fs::path& file) {
  const fs::path parent = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) {
      throw StateError("cannot create directory " + parent.string() + " for state database " +
                       file.string() + ": " + ec.message());
    }
    // The directory holds agent state only; nobody else needs to list it.
    fs::permissions(parent, fs::perms::owner_all, ec);
  }
  // Create the file ourselves so it is 0600 from the first byte; SQLite gives
  // its -wal and -shm files the same mode. Failure is left for SQLite to
  // report, with its own wording.
  core::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
}

std::string text_pragma(sqlite3* db, const char* sql) {
  detail::Statement stmt(db, sql);
  return stmt.step() ? stmt.column_blob(0) : std::string();
}

int user_version(sqlite3* db) {
  detail::Statement stmt(db, "PRAGMA user_version");
  return stmt.step() ? static_cast<int>(stmt.column_int64(0)) : 0;
}

void configure(sqlite3* db, StateDb::Mode mode) {
  sqlite3_extended_result_codes(db, 1);
  // Wait for a writer in another process (e.g. a migration) instead of
  // failing at once with SQLITE_BUSY.
  detail::exec(db, "PRAGMA busy_timeout=5000");
  if (mode == StateDb::Mode::read_write) {
    // WAL lets `dump-state` read while the agent writes. It is persistent in
    // the file, so read-only connections inherit it without asking.
    const std::string journal = text_pragma(db, "PRAGMA journal_mode=WAL");
    if (journal != "wal") {
      throw StateError("cannot enable WAL journal mode on " + detail::db_file(db) +
                       " (SQLite kept \"" + journal + "\")");
    }
    // In WAL mode NORMAL is still corruption-safe; a power cut may lose the
    // last commits, which at-least-once delivery tolerates.
    detail::exec(db, "PRAGMA synchronous=NORMAL");
  }
  detail::exec(db, "PRAGMA foreign_keys=ON");
}

[[noreturn]] void throw_newer(const std::string& file, int version) {
  throw StateError("state database " + file + " has schema version " + std::to_string(version) +
                   ", newer than this agent supports (" + std::to_string(detail::schema_version()) +
                   "); it was written by a newer agent. Upgrade the agent or move the file away");
}

void migrate(sqlite3* db, StateDb::Mode mode) {
  const std::string file = detail::db_file(db);
  const int known = detail::schema_version();
  int version = user_version(db);
  if (version > known) throw_newer(file, version);
  if (version == known) return;
  if (mode == StateDb::Mode::read_only) {
    throw StateError("state database " + file + " has schema version " + std::to_string(version) +
                     ", older than " + std::to_string(known) +
                     "; open it read-write (start the agent) once to migrate it");
  }

  // One transaction for all steps: a failed migration leaves the old schema.
  detail::Transaction txn(db, "BEGIN IMMEDIATE");
  version = user_version(db);  // another process may have migrated meanwhile
  if (version > known) throw_newer(file, version);
  const auto steps = detail::migrations();
  for (int step = version; step < known; ++step) {
    detail::exec(db, std::string(steps[static_cast<std::size_t>(step)]).c_str());
    // PRAGMA arguments cannot be bound; the value is our own integer.
    detail::exec(db, ("PRAGMA user_version=" + std::to_string(step + 1)).c_str());
  }
  txn.commit();
}

}  // namespace

std::unique_ptr<StateDb> StateDb::open(const fs::path& file, Mode mode) {
  if (mode == Mode::read_write) prepare_location(file);

  sqlite3* raw = nullptr;
  // No SQLite-level mutex: StateDb serialises every use of the connection.
  const int flags = (mode == Mode::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                              : SQLITE_OPEN_READONLY) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  Connection db(raw);  // sqlite3_open_v2 allocates a handle even on failure
  if (rc != SQLITE_OK) {
    throw StateError("cannot open state database " + file.string() + ": " +
                     (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  configure(db.get(), mode);
  migrate(db.get(), mode);
  // The constructor is private, so make_unique cannot reach it.
  return std::unique_ptr<StateDb>(new StateDb(file, mode, db.release()));
}

StateDb::StateDb(fs::path path, Mode mode, sqlite3* db)
    : path_(std::move(path)), mode_(mode), db_(db) {}

StateDb::~StateDb() {
  ConnectionClose{}(db_);
}

void StateDb::transaction(const std::function<void(sqlite3*)>& fn) {
  std::lock_guard lock(mutex_);
  // Nested on this thread (the mutex is recursive, so only the owner gets
  // here): join the outer transaction, whose exception handling rolls all of
  // it back. A read-only connection cannot take the write lock; a plain BEGIN
  // still gives its reads one consistent snapshot.
  std::optional<detail::Transaction> txn;
  if (transaction_depth_ == 0) {
    txn.emplace(db_, mode_ == Mode::read_write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  ++transaction_depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{transaction_depth_};
  fn(db_);
  if (txn) txn->commit();
}

void StateDb::with_connection(const std::function<void(sqlite3*)>& fn) {
  std::lock_guard lock(mutex_);
  fn(db_);
}

}  // namespace backupy::state
