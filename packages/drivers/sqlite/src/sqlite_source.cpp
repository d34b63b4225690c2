#include "backupy/drivers/sqlite_source.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/stream/cancelled.hpp"

namespace backupy::drivers {
namespace {

// Pages per sqlite3_backup_step(): small enough to check the stop token
// often, large enough that the per-step overhead does not matter.
constexpr int kPagesPerStep = 256;
// A lock held by a writer usually lasts milliseconds; poll at that scale.
constexpr auto kBusyPause = std::chrono::milliseconds(10);
// A writer that keeps the file locked longer than this is stuck, not busy.
// Also the busy timeout of the first read: in rollback-journal mode a
// steady writer can hold the lock most of the time, and the reader only
// gets in between two of its transactions.
constexpr auto kMaxLockedWait = std::chrono::minutes(5);
constexpr int kBusyTimeoutMs = 5 * 60 * 1000;
constexpr std::size_t kReadBuffer = 256 * 1024;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;

struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

struct BackupFinish {
  void operator()(sqlite3_backup* backup) const { sqlite3_backup_finish(backup); }
};
using Backup = std::unique_ptr<sqlite3_backup, BackupFinish>;

// Opens path; the handle is returned even on failure (SQLite allocates one
// to carry the error message), so it is always owned.
Db open_db(const std::filesystem::path& path, int flags, const std::string& what) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

void exec(sqlite3* db, const char* sql, const std::string& what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    throw std::runtime_error(what + ": " + sqlite3_errmsg(db));
  }
}

// The private copy: a unique 0600 file in temp_dir (mkstemp), removed with
// whatever journal files SQLite created beside it.
class TempCopy {
 public:
  explicit TempCopy(const std::filesystem::path& dir) {
    std::string tmpl = (dir / "backupy-sqlite-XXXXXX").string();
    core::UniqueFd fd(::mkstemp(tmpl.data()));
    if (!fd) {
      throw std::system_error(errno, std::generic_category(),
                              "cannot create a temporary copy in " + dir.string());
    }
    path_ = tmpl;
  }
  ~TempCopy() {
    std::error_code ignored;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }
  TempCopy(const TempCopy&) = delete;
  TempCopy& operator=(const TempCopy&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void check_stop(const std::stop_token& stop) {
  if (stop.stop_requested()) throw stream::Cancelled();
}

// Copies source into copy page by page. The caller holds a read transaction
// on source, so every step reads the same snapshot: a writer in another
// connection neither tears the copy nor restarts it (which, with a steady
// writer, could go on forever). In WAL mode writers are not blocked at all;
// in rollback-journal mode they wait until the copy is done.
void copy_pages(sqlite3* source, sqlite3* copy, const std::string& name,
                const std::stop_token& stop) {
  Backup backup(sqlite3_backup_init(copy, "main", source, "main"));
  if (!backup) {
    throw std::runtime_error("cannot back up sqlite database " + name + ": " +
                             sqlite3_errmsg(copy));
  }
  auto locked_since = std::chrono::steady_clock::now();
  for (;;) {
    check_stop(stop);
    const int rc = sqlite3_backup_step(backup.get(), kPagesPerStep);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) {
      locked_since = std::chrono::steady_clock::now();
      continue;
    }
    const int primary = rc & 0xFF;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      if (std::chrono::steady_clock::now() - locked_since > kMaxLockedWait) {
        throw std::runtime_error("sqlite database " + name + " stayed locked for " +
                                 std::to_string(std::chrono::seconds(kMaxLockedWait).count()) +
                                 " s during the backup");
      }
      std::this_thread::sleep_for(kBusyPause);
      continue;
    }
    throw std::runtime_error("cannot copy sqlite database " + name + ": " + sqlite3_errstr(rc));
  }
  const int rc = sqlite3_backup_finish(backup.release());
  if (rc != SQLITE_OK) {
    throw std::runtime_error("cannot copy sqlite database " + name + ": " + sqlite3_errstr(rc));
  }
}

// PRAGMA quick_check answers one row "ok", or rows describing each problem.
void quick_check(sqlite3* copy, const std::string& name) {
  const std::string what = "quick_check failed on the copy of " + name;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(copy, "PRAGMA quick_check(10)", -1, &raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(what + ": " + sqlite3_errmsg(copy));
  }
  Stmt stmt(raw);
  std::string problems;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    const std::string row = text != nullptr ? text : "";
    if (row == "ok") continue;
    if (!problems.empty()) problems += "; ";
    problems += row;
  }
  if (rc != SQLITE_DONE) throw std::runtime_error(what + ": " + sqlite3_errmsg(copy));
  if (!problems.empty()) throw std::runtime_error(what + ": " + problems);
}

void stream_file(const std::filesystem::path& path, stream::ByteSink& out,
                 const std::stop_token& stop) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
  }
  std::vector<std::uint8_t> buffer(kReadBuffer);
  for (;;) {
    check_stop(stop);
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "cannot read " + path.string());
    }
    out.write(std::span(buffer.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace

std::string SqliteSource::server_version() const {
  return std::string("SQLite ") + sqlite3_libversion();
}

void SqliteSource::dump(stream::ByteSink& out, std::stop_token stop) const {
  check_stop(stop);
  const std::string name = database.string();
  const std::string cannot_open = "cannot open sqlite database " + name;
  // SQLITE_OPEN_READONLY also means a missing file is an error rather than
  // a new, empty database that would "back up" successfully.
  const Db source = open_db(database, SQLITE_OPEN_READONLY, cannot_open);
  sqlite3_busy_timeout(source.get(), kBusyTimeoutMs);
  // Pin one snapshot for the whole copy (see copy_pages). Reading the schema
  // also proves the file is a database at all: opening does not read it.
  exec(source.get(), "BEGIN; SELECT count(*) FROM sqlite_schema;", cannot_open);

  const TempCopy copy_file(temp_dir);
  {
    const Db copy =
        open_db(copy_file.path(), SQLITE_OPEN_READWRITE,
                "cannot open the temporary copy " + copy_file.path().string() + " of " + name);
    // A throwaway file that is verified before use: no journal, no fsync.
    exec(copy.get(), "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;",
         "cannot prepare the temporary copy of " + name);
    copy_pages(source.get(), copy.get(), name, stop);
    exec(source.get(), "COMMIT;", "cannot end the read transaction on " + name);
    quick_check(copy.get(), name);
  }  // closed: every page is in the file before it is read back
  stream_file(copy_file.path(), out, stop);
}

}  // namespace backupy::drivers
