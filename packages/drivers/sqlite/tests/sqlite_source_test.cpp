// SqliteSource through the real pipeline: dump, restore (decrypt +
// decompress to a file), open the restored file with SQLite, compare rows.
#include "backupy/drivers/sqlite_source.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;

Db open(const fs::path& path) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open(path.c_str(), &raw);
  Db db(raw);
  if (rc != SQLITE_OK) throw std::runtime_error("open " + path.string());
  sqlite3_busy_timeout(db.get(), 10000);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error != nullptr ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error(sql.substr(0, 60) + ": " + message);
  }
}

// The first column of the first row of sql, as text.
std::string query(sqlite3* db, const std::string& sql) {
  std::string result;
  const auto first = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] != nullptr ? values[0] : "NULL";
    return 0;
  };
  if (sqlite3_exec(db, sql.c_str(), first, &result, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
  }
  return result;
}

// A few tables, 10,000 rows in total, with text, numbers and blobs.
void populate(sqlite3* db) {
  exec(db,
       "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);"
       "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES "
       "customers(id), amount REAL, note BLOB, created TEXT);"
       "CREATE INDEX orders_by_customer ON orders(customer_id);"
       "CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT);"
       "BEGIN;"
       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
       "INSERT INTO customers SELECT i, 'customer ' || i, 'c' || i || '@example.com' FROM n;"
       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) "
       "INSERT INTO orders SELECT i, 1 + i % 2000, i * 1.25, randomblob(40), "
       "datetime(1700000000 + i * 60, 'unixepoch') FROM n;"
       "COMMIT;");
}

// Every row of the three tables as one string, to compare original and restore.
std::string content_of(sqlite3* db) {
  return query(db,
               "SELECT count(*) || ':' || group_concat(id || ',' || name || ',' || email, ';') "
               "FROM customers") +
         "|" +
         query(db,
               "SELECT count(*) || ':' || group_concat(id || ',' || customer_id || ',' || amount "
               "|| ',' || hex(note) || ',' || created, ';') FROM orders") +
         "|" + query(db, "SELECT count(*) FROM events");
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::array<std::uint8_t, 32> dek() {
  std::array<std::uint8_t, 32> key{};
  key.fill(0x5A);
  return key;
}

// Spool -> BlobReader -> zstd decompressor -> restored database file.
void restore(const fs::path& spool, const fs::path& out) {
  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
  const auto key = dek();
  blob::BlobReader reader{std::span(key), *decompressor};
  reader.write(read_file(spool));
  reader.finish();
  std::ofstream(out, std::ios::binary) << raw.data();
}

pipeline::PipelineResult back_up(const SqliteSource& source, const fs::path& spool) {
  pipeline::PipelineOptions options;
  options.dek = dek();
  options.spool_path = spool;
  return pipeline::run_pipeline([&](stream::ByteSink& sink) { source.dump(sink, {}); }, options);
}

bool has_temp_copies(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with("backupy-sqlite-")) return true;
  }
  return false;
}

TEST(SqliteSourceTest, ServerVersionIsTheLibraryVersion) {
  EXPECT_EQ(SqliteSource{}.server_version(), std::string("SQLite ") + sqlite3_libversion());
  EXPECT_TRUE(SqliteSource{}.server_version().starts_with("SQLite 3."));
}

class SqliteRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SqliteRoundTripTest, BackupRestoresTheSameRows) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  std::string original;
  {
    const Db db = open(database);
    exec(db.get(), std::string("PRAGMA journal_mode=") + GetParam());
    populate(db.get());
    original = content_of(db.get());
  }
  const SqliteSource source{database, dir.path()};
  const pipeline::PipelineResult result = back_up(source, dir.path() / "run.spool");
  EXPECT_GT(result.raw_bytes, 100'000u);
  EXPECT_FALSE(has_temp_copies(dir.path()));

  restore(dir.path() / "run.spool", dir.path() / "restored.db");
  EXPECT_EQ(fs::file_size(dir.path() / "restored.db"), result.raw_bytes);
  const Db restored = open(dir.path() / "restored.db");
  EXPECT_EQ(query(restored.get(), "PRAGMA integrity_check"), "ok");
  EXPECT_TRUE(content_of(restored.get()) == original) << "restored rows differ";
  EXPECT_EQ(query(restored.get(), "SELECT count(*) FROM customers"), "2000");
  EXPECT_EQ(query(restored.get(), "SELECT count(*) FROM orders"), "8000");
}

INSTANTIATE_TEST_SUITE_P(JournalModes, SqliteRoundTripTest, ::testing::Values("wal", "delete"),
                         [](const auto& info) { return std::string(info.param); });

class SqliteConcurrentWriterTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SqliteConcurrentWriterTest, AWriterInsertingDuringTheBackupDoesNotBreakIt) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  {
    const Db db = open(database);
    exec(db.get(), std::string("PRAGMA journal_mode=") + GetParam());
    populate(db.get());
  }
  std::atomic<int> inserted{0};
  // Stopped and joined by ~jthread even when an assertion below throws.
  std::jthread writer([&](std::stop_token stop) {
    const Db db = open(database);
    while (!stop.stop_requested()) {
      exec(db.get(),
           "INSERT INTO events(kind) VALUES ('login');"
           "UPDATE orders SET amount = amount + 1 WHERE id = 1 + abs(random()) % 8000;");
      ++inserted;
      // A busy application, not a lock held forever: in rollback-journal
      // mode a reader can only start between two write transactions.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  while (inserted < 20) std::this_thread::yield();  // the writer is really running

  const SqliteSource source{database, dir.path()};
  const int before = inserted;
  back_up(source, dir.path() / "run.spool");
  writer.request_stop();
  writer.join();
  EXPECT_GT(inserted.load(), before) << "the writer was blocked for the whole test";

  restore(dir.path() / "run.spool", dir.path() / "restored.db");
  const Db restored = open(dir.path() / "restored.db");
  EXPECT_EQ(query(restored.get(), "PRAGMA integrity_check"), "ok");
  const int events = std::stoi(query(restored.get(), "SELECT count(*) FROM events"));
  EXPECT_GE(events, before);
  EXPECT_LE(events, inserted.load());
  EXPECT_EQ(query(restored.get(), "SELECT count(*) FROM orders"), "8000");
}

INSTANTIATE_TEST_SUITE_P(JournalModes, SqliteConcurrentWriterTest,
                         ::testing::Values("wal", "delete"),
                         [](const auto& info) { return std::string(info.param); });

std::string dump_error(const SqliteSource& source) {
  stream::MemorySink sink;
  try {
    source.dump(sink, {});
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(sink.data().empty()) << "bytes of a failed copy went out";
    return e.what();
  }
  ADD_FAILURE() << "dump succeeded";
  return {};
}

TEST(SqliteSourceErrorTest, AMissingDatabaseIsAClearErrorNotAnEmptyBackup) {
  TempDir dir;
  const fs::path missing = dir.path() / "missing.db";
  EXPECT_EQ(dump_error({missing, dir.path()}),
            "cannot open sqlite database " + missing.string() + ": unable to open database file");
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_FALSE(has_temp_copies(dir.path()));
}

TEST(SqliteSourceErrorTest, RandomBytesAreNotADatabase) {
  TempDir dir;
  const fs::path garbage = dir.path() / "garbage.db";
  std::mt19937 rng(1);
  std::string bytes(64 * 1024, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  std::ofstream(garbage, std::ios::binary) << bytes;
  EXPECT_EQ(dump_error({garbage, dir.path()}),
            "cannot open sqlite database " + garbage.string() + ": file is not a database");
  EXPECT_FALSE(has_temp_copies(dir.path()));
}

TEST(SqliteSourceErrorTest, ACorruptedPageFailsTheQuickCheckOfTheCopy) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  {
    const Db db = open(database);
    populate(db.get());
  }
  // Keep the header and schema (page 1) intact so the copy succeeds, then
  // smash pages in the middle: only quick_check can notice.
  std::string bytes = read_file(database);
  ASSERT_GT(bytes.size(), 64u * 4096u);
  std::mt19937 rng(2);
  for (std::size_t i = 16 * 4096; i < 48 * 4096; ++i) bytes[i] = static_cast<char>(rng());
  std::ofstream(database, std::ios::binary | std::ios::trunc) << bytes;

  const std::string error = dump_error({database, dir.path()});
  EXPECT_TRUE(error.starts_with("quick_check failed on the copy of " + database.string() + ": "))
      << error;
  EXPECT_FALSE(has_temp_copies(dir.path()));
}

TEST(SqliteSourceErrorTest, AnUnwritableTempDirIsAClearError) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  {
    const Db db = open(database);
    populate(db.get());
  }
  stream::MemorySink sink;
  try {
    SqliteSource{database, dir.path() / "no-such-dir"}.dump(sink, {});
    FAIL() << "dump succeeded";
  } catch (const std::system_error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("cannot create a temporary copy in " +
                                                  (dir.path() / "no-such-dir").string()))
        << e.what();
  }
}

TEST(SqliteSourceCancelTest, AStopRequestCancelsAndRemovesTheCopy) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  {
    const Db db = open(database);
    populate(db.get());
  }
  std::stop_source stop;
  // Stop from inside the stream: the driver must notice before its next write.
  struct StoppingSink : stream::ByteSink {
    std::stop_source* stop;
    int writes = 0;
    using stream::ByteSink::write;
    void write(std::span<const std::uint8_t>) override {
      ++writes;
      stop->request_stop();
    }
    void finish() override {}
  } sink;
  sink.stop = &stop;
  EXPECT_THROW(SqliteSource({database, dir.path()}).dump(sink, stop.get_token()),
               stream::Cancelled);
  EXPECT_EQ(sink.writes, 1);
  EXPECT_FALSE(has_temp_copies(dir.path()));
}

TEST(SqliteSourceTest, TheCopyIsPrivate) {
  TempDir dir;
  const fs::path database = dir.path() / "app.db";
  {
    const Db db = open(database);
    populate(db.get());
  }
  // Look at the temp dir while the first bytes of the copy are streamed.
  struct ProbeSink : stream::ByteSink {
    fs::path dir;
    unsigned mode = 0;
    using stream::ByteSink::write;
    void write(std::span<const std::uint8_t>) override {
      if (mode != 0) return;
      for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.path().filename().string().starts_with("backupy-sqlite-")) continue;
        struct stat info {};
        if (::stat(entry.path().c_str(), &info) == 0) mode = info.st_mode & 0777;
      }
    }
    void finish() override {}
  } sink;
  sink.dir = dir.path();
  SqliteSource{database, dir.path()}.dump(sink, {});
  EXPECT_EQ(sink.mode, 0600u);
}

}  // namespace
}  // namespace backupy::drivers
