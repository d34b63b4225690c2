#pragma once
// Scoped SQLite transaction: rolled back unless commit() succeeded, so an
// exception anywhere inside leaves the database as it was.
#include <sqlite3.h>

namespace backupy::sqlite {

class Transaction {
 public:
  // begin_sql is "BEGIN IMMEDIATE" for writers (take the write lock up front,
  // so the busy timeout applies here rather than failing mid-way on upgrade)
  // or "BEGIN" for a consistent read snapshot.
  Transaction(sqlite3* db, const char* begin_sql);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace backupy::sqlite
