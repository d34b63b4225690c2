#include "backupy/sqlite/transaction.hpp"

#include "backupy/sqlite/error.hpp"

namespace backupy::sqlite {

Transaction::Transaction(sqlite3* db, const char* begin_sql) : db_(db) {
  exec(db_, begin_sql);
}

Transaction::~Transaction() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR...) already rolled back; a second
  // ROLLBACK would fail, and a destructor must not throw anyway.
  if (!done_ && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  exec(db_, "COMMIT");  // on failure (e.g. SQLITE_BUSY) the destructor rolls back
  done_ = true;
}

}  // namespace backupy::sqlite
