#include "backupy/state/state_db.hpp"

#include <sqlite3.h>

#include <optional>

#include "backupy/sqlite/database.hpp"
#include "backupy/sqlite/transaction.hpp"
#include "migrations.hpp"

namespace backupy::state {

std::unique_ptr<StateDb> StateDb::open(const std::filesystem::path& file, Mode mode) {
  const sqlite::Schema schema{detail::migrations(), "state database", "agent"};
  sqlite::Connection db = sqlite::open(
      file, mode == Mode::read_write ? sqlite::Access::read_write : sqlite::Access::read_only,
      schema);
  // The constructor is private, so make_unique cannot reach it.
  return std::unique_ptr<StateDb>(new StateDb(file, mode, db.release()));
}

StateDb::StateDb(std::filesystem::path path, Mode mode, sqlite3* db)
    : path_(std::move(path)), mode_(mode), db_(db) {}

StateDb::~StateDb() {
  sqlite::ConnectionClose{}(db_);
}

void StateDb::transaction(const std::function<void(sqlite3*)>& fn) {
  std::lock_guard lock(mutex_);
  // Nested on this thread (the mutex is recursive, so only the owner gets
  // here): join the outer transaction, whose exception handling rolls all of
  // it back. A read-only connection cannot take the write lock; a plain BEGIN
  // still gives its reads one consistent snapshot.
  std::optional<sqlite::Transaction> txn;
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
