#pragma once
// The agent's durable state: one SQLite database (WAL) under BACKUPY_STATE_DIR.
//
// Schema is versioned and migrated forward on open. All access goes through
// one connection guarded by a mutex, so any thread may call the stores built on
// top (ConfigStore, Outbox). A second process (e.g. `backupy-agent dump-state`)
// may open the same file read-only while the agent runs.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "backupy/sqlite/error.hpp"

struct sqlite3;

namespace backupy::state {

// Any storage failure; what() names the file and the SQLite reason.
using StateError = sqlite::Error;

class StateDb {
 public:
  enum class Mode { read_write, read_only };

  // Opens (creating if read_write) and migrates. Throws StateError.
  static std::unique_ptr<StateDb> open(const std::filesystem::path& file,
                                       Mode mode = Mode::read_write);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  // Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on exception) while
  // holding the connection mutex. Stores use this for every access.
  // Re-entrant: a transaction() (or with_connection()) called from inside fn
  // on the same thread joins the outer transaction, so a caller can make
  // several stores' changes atomic (a run's terminal state + its report).
  void transaction(const std::function<void(sqlite3*)>& fn);
  // Runs fn holding the mutex without a transaction (single reads).
  void with_connection(const std::function<void(sqlite3*)>& fn);

  const std::filesystem::path& path() const { return path_; }
  bool read_only() const { return mode_ == Mode::read_only; }

 private:
  StateDb(std::filesystem::path path, Mode mode, sqlite3* db);
  std::filesystem::path path_;
  Mode mode_;
  sqlite3* db_;                 // owned; closed in the destructor
  std::recursive_mutex mutex_;  // recursive: see transaction()
  int transaction_depth_ = 0;   // guarded by mutex_
};

}  // namespace backupy::state
