// Per-engine driver throughput on a realistic dataset, for tests/bench/drivers.sh.
//
//   driver_bench header            the markdown table's header
//   driver_bench ENGINE            postgresql | mariadb | redis | sqlite: one table row
//
// For ENGINE: starts a private server (tests/support: PostgresServer, MariaDbServer,
// RedisServer; an SQLite file in a temp dir), seeds about BENCH_DB_BYTES (default 500000000)
// of order-like rows (ids, names, e-mails, amounts, timestamps, free text, a 16-byte binary
// column; Redis: hashes plus JSON-ish session strings) measured on the server (PostgreSQL
// pg_database_size, MariaDB the table's .ibd file, Redis used_memory, SQLite the file), then
// runs the real driver (drivers::builtin_drivers(): create -> probe -> dump) twice:
//   1. dump only: into a sink that counts and discards;
//   2. full pipeline: pipeline::run_pipeline as a backup run drives it (zstd at the agent's
//      defaults BENCH_ZSTD_LEVEL=3 / BENCH_ZSTD_WORKERS=2 -> AES-256-GCM blob -> SHA-256 ->
//      fsynced spool file, removed afterwards).
// Peak RSS is this process's VmHWM, reset (/proc/self/clear_refs) before each phase: driver +
// pipeline, i.e. the agent's share; external dump tools (pg_dump, mariadb-dump) are separate
// processes and not included. Progress goes to stderr.
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "backupy/drivers/builtin.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
namespace drivers = backupy::drivers;
namespace pipeline = backupy::pipeline;
namespace stream = backupy::stream;
using backupy::test_support::MariaDbServer;
using backupy::test_support::PostgresServer;
using backupy::test_support::RedisServer;
using backupy::test_support::TempDir;
using Clock = std::chrono::steady_clock;

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::stoull(value) : fallback;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void progress(const std::string& text) {
  std::cerr << "driver_bench: " << text << std::endl;
}

std::uint64_t vm_hwm_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stoull(line.substr(6));
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false if the kernel refuses.
bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

class NullSink : public stream::ByteSink {
 public:
  void write(std::span<const std::uint8_t> data) override { bytes += data.size(); }
  void finish() override {}
  std::uint64_t bytes = 0;
};

struct Phase {
  std::uint64_t raw_bytes = 0;
  std::uint64_t stored_bytes = 0;
  double seconds = 0;
  std::uint64_t peak_rss_kib = 0;
  std::string version;
};

// probe + dump into a null sink.
Phase dump_only(const backup::v1::Target& target) {
  TempDir scratch("backupy-bench-scratch");
  reset_peak_rss();
  const auto start = Clock::now();
  auto driver = drivers::builtin_drivers().create({.target = target, .temp_dir = scratch.path()});
  Phase phase;
  phase.version = driver->probe();
  NullSink sink;
  driver->dump(sink, {});
  phase.seconds = seconds_since(start);
  phase.raw_bytes = phase.stored_bytes = sink.bytes;
  phase.peak_rss_kib = vm_hwm_kib();
  return phase;
}

// probe + dump through the backup pipeline into a spool file, as a run does.
Phase full_pipeline(const backup::v1::Target& target, const fs::path& work) {
  TempDir scratch("backupy-bench-scratch");
  pipeline::PipelineOptions options;
  options.compress.level = static_cast<int>(env_u64("BENCH_ZSTD_LEVEL", 3));
  options.compress.workers = static_cast<int>(env_u64("BENCH_ZSTD_WORKERS", 2));
  options.dek = std::array<std::uint8_t, 32>{7, 7, 7};  // a fixed, fake key
  options.spool_path = work / "run.bkpy";
  reset_peak_rss();
  const auto start = Clock::now();
  auto driver = drivers::builtin_drivers().create({.target = target, .temp_dir = scratch.path()});
  Phase phase;
  phase.version = driver->probe();
  const pipeline::PipelineResult result =
      pipeline::run_pipeline([&](stream::ByteSink& sink) { driver->dump(sink, {}); }, options);
  phase.seconds = seconds_since(start);
  phase.raw_bytes = result.raw_bytes;
  phase.stored_bytes = result.stored_bytes;
  phase.peak_rss_kib = vm_hwm_kib();
  fs::remove(options.spool_path);
  return phase;
}

// ---------------------------------------------------------------- seeding --

// Inserts rows [from, to] with insert_chunk until size() reaches target; chunks follow the
// measured bytes per row, at most 100k rows (each client call must end within its 60 s).
void seed_in_chunks(std::uint64_t target, const std::function<void(long, long)>& insert_chunk,
                    const std::function<std::uint64_t()>& size) {
  const auto start = Clock::now();
  const std::uint64_t empty = size();
  long next = 1;
  long chunk = 50'000;
  for (std::uint64_t now = empty; now < target;) {
    insert_chunk(next, next + chunk - 1);
    next += chunk;
    now = size();
    // Bytes per row so far, without the empty database's own size; aim 2 % past the target.
    const double per_row = static_cast<double>(std::max(now - empty, std::uint64_t{1})) /
                           static_cast<double>(next - 1);
    const double missing = static_cast<double>(target) * 1.02 - static_cast<double>(now);
    chunk = std::clamp(static_cast<long>(missing / per_row) + 1, 1000L, 100'000L);
    progress("seeded " + std::to_string(next - 1) + " rows, " + std::to_string(now / 1'000'000) +
             " MB, " + std::to_string(static_cast<int>(seconds_since(start))) + " s");
  }
}

constexpr const char* kPgSeed = R"(
INSERT INTO orders
SELECT g, (g::bigint * 7919) % 250000,
  (ARRAY['anna','bernd','chen','dmitri','elena','farid','greta','hiro','ines','jonas'])[1 + g % 10]
    || ' ' || (ARRAY['schmidt','nguyen','garcia','kowalski','rossi','tanaka','muller','silva',
               'novak','ivanov','jensen'])[1 + (g / 10) % 11],
  'customer' || (g * 31) % 100000 || '@example.com',
  (ARRAY['pending','paid','shipped','delivered','cancelled','refunded'])[1 + (g / 7) % 6],
  ((g::bigint * 7919) % 10000000) / 100.0,
  (ARRAY['EUR','USD','GBP','CHF'])[1 + g % 4],
  timestamptz '2025-01-01 00:00:00+00' + g * interval '17 seconds',
  upper(substr(md5(g::text), 1, 10)),
  CASE WHEN g % 4 = 0 THEN NULL ELSE
    (ARRAY['order','shipped','customer','requested','delivery','express','gift','wrap','please',
           'call','before','arrival','fragile','handle','with','care'])[1 + g % 16] || ' ' ||
    (ARRAY['invoice','attached','refund','pending','approved','warranty','extended','back',
           'ordered','discount','applied','coupon','spring','summer','sale'])[1 + (g * 7) % 15]
    || ' ' || (ARRAY['returned','damaged','replaced','priority','support','ticket','at','door',
                     'leave','gift','wrap'])[1 + (g * 13) % 11] END,
  decode(md5(g::text || 'payload'), 'hex')
FROM generate_series(%FROM%, %TO%) g)";

std::string with_range(std::string sql, long from, long to) {
  sql.replace(sql.find("%FROM%"), 6, std::to_string(from));
  sql.replace(sql.find("%TO%"), 4, std::to_string(to));
  return sql;
}

constexpr const char* kMariaSeed = R"(
INSERT INTO orders
SELECT seq, (seq * 7919) % 250000,
  CONCAT(ELT(1 + seq % 10, 'anna','bernd','chen','dmitri','elena','farid','greta','hiro','ines',
             'jonas'), ' ', ELT(1 + (seq DIV 10) % 11, 'schmidt','nguyen','garcia','kowalski',
             'rossi','tanaka','muller','silva','novak','ivanov','jensen')),
  CONCAT('customer', (seq * 31) % 100000, '@example.com'),
  ELT(1 + (seq DIV 7) % 6, 'pending','paid','shipped','delivered','cancelled','refunded'),
  ((seq * 7919) % 10000000) / 100.0,
  ELT(1 + seq % 4, 'EUR','USD','GBP','CHF'),
  TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq * 17 SECOND,
  UPPER(SUBSTR(MD5(seq), 1, 10)),
  IF(seq % 4 = 0, NULL, CONCAT_WS(' ',
    ELT(1 + seq % 16, 'order','shipped','customer','requested','delivery','express','gift','wrap',
        'please','call','before','arrival','fragile','handle','with','care'),
    ELT(1 + (seq * 7) % 15, 'invoice','attached','refund','pending','approved','warranty',
        'extended','back','ordered','discount','applied','coupon','spring','summer','sale'),
    ELT(1 + (seq * 13) % 11, 'returned','damaged','replaced','priority','support','ticket','at',
        'door','leave','gift','wrap'))),
  UNHEX(MD5(CONCAT(seq, 'payload')))
FROM seq_%FROM%_to_%TO%)";

constexpr const char* kSqliteSeed = R"(
INSERT INTO orders
WITH RECURSIVE s(g) AS (SELECT %FROM% UNION ALL SELECT g + 1 FROM s WHERE g < %TO%)
SELECT g, (g * 7919) % 250000,
  trim(substr('anna    bernd   chen    dmitri  elena   farid   greta   hiro    ines    jonas   ',
              1 + (g % 10) * 8, 8)) || ' ' ||
  trim(substr('schmidt nguyen  garcia  kowalskirossi   tanaka  muller  silva   novak   ivanov  ',
              1 + ((g / 10) % 10) * 8, 8)),
  'customer' || (g * 31) % 100000 || '@example.com',
  trim(substr('pending  paid     shipped  deliveredcancelledrefunded ', 1 + ((g / 7) % 6) * 9, 9)),
  ((g * 7919) % 10000000) / 100.0,
  substr('EURUSDGBPCHF', 1 + (g % 4) * 3, 3),
  strftime('%Y-%m-%d %H:%M:%S', 1735689600 + g * 17, 'unixepoch'),
  upper(hex(randomblob(5))),
  CASE WHEN g % 4 = 0 THEN NULL ELSE
    trim(substr('order    shipped  customer requesteddelivery express  gift     wrap     ',
                1 + (g % 8) * 9, 9)) || ' ' ||
    trim(substr('invoice  attached refund   pending  approved warranty extended back     ',
                1 + ((g * 7) % 8) * 9, 9)) || ' ' ||
    trim(substr('returned damaged  replaced priority support  ticket   door     leave    ',
                1 + ((g * 13) % 8) * 9, 9)) END,
  randomblob(16)
FROM s)";

// splitmix64, deterministic.
struct Rng {
  std::uint64_t state = 0x243F6A8885A308D3ull;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

class Redis {
 public:
  Redis(int port, const std::string& password)
      : context_(redisConnect("127.0.0.1", port), &redisFree) {
    if (!context_ || context_->err) throw std::runtime_error("cannot connect to redis");
    command({"AUTH", password});
  }
  void append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(context_.get(), static_cast<int>(args.size()), argv.data(), lens.data());
    ++pending_;
  }
  // Reads every pending reply; the last one's text.
  std::string drain() {
    std::string last;
    for (; pending_ > 0; --pending_) {
      void* raw = nullptr;
      if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
        throw std::runtime_error(std::string("redis: ") + context_->errstr);
      }
      auto* reply = static_cast<redisReply*>(raw);
      const bool error = reply->type == REDIS_REPLY_ERROR;
      if (reply->str) last.assign(reply->str, reply->len);
      freeReplyObject(reply);
      if (error) throw std::runtime_error("redis: " + last);
    }
    return last;
  }
  std::string command(const std::vector<std::string>& args) {
    append(args);
    return drain();
  }

 private:
  std::unique_ptr<redisContext, decltype(&redisFree)> context_;
  int pending_ = 0;
};

std::uint64_t redis_used_memory(Redis& redis) {
  const std::string info = redis.command({"INFO", "memory"});
  const auto at = info.find("used_memory:");
  return at == std::string::npos ? 0 : std::stoull(info.substr(at + 12));
}

void seed_redis(Redis& redis, std::uint64_t target) {
  static const char* kNames[] = {"anna",  "bernd", "chen", "dmitri", "elena",
                                 "farid", "greta", "hiro", "ines",   "jonas"};
  static const char* kStatus[] = {"pending", "paid", "shipped", "delivered", "cancelled"};
  static const char* kWords[] = {"order",   "shipped", "customer", "requested", "delivery",
                                 "express", "gift",    "wrap",     "fragile",   "invoice",
                                 "refund",  "pending", "approved", "warranty",  "coupon"};
  Rng rng;
  const auto start = Clock::now();
  long id = 0;
  for (std::uint64_t used = redis_used_memory(redis); used < target;
       used = redis_used_memory(redis)) {
    for (int batch = 0; batch < 20; ++batch) {
      for (int i = 0; i < 1000; ++i) {
        ++id;
        const std::string n = std::to_string(id);
        const std::uint64_t r = rng.next();
        std::string note;
        for (int w = 0; w < 3 + static_cast<int>(r % 6); ++w) {
          note += kWords[(r >> (w * 4)) % 15];
          note += ' ';
        }
        redis.append(
            {"HSET", "order:" + n, "customer", kNames[r % 10], "email",
             std::string(kNames[(r >> 8) % 10]) + std::to_string(r % 100000) + "@example.com",
             "status", kStatus[(r >> 16) % 5], "amount",
             std::to_string(r % 100000) + "." + std::to_string(r % 89 + 10), "created_at",
             std::to_string(1'735'689'600 + id * 17), "note", note});
        if (id % 2 == 0) {
          // A session document: JSON-ish, partly random (tokens), ~600 bytes.
          std::string doc = "{\"user\":" + n + ",\"token\":\"";
          for (int k = 0; k < 4; ++k) {
            char hex[17];
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng.next()));
            doc += hex;
          }
          doc += "\",\"cart\":[";
          for (int k = 0; k < 8; ++k) {
            doc += "{\"sku\":\"SKU-" + std::to_string((r >> k) % 5000) +
                   "\",\"qty\":" + std::to_string(1 + k % 3) + ",\"note\":\"" +
                   kWords[(r >> (k * 3)) % 15] + "\"},";
          }
          doc += "{}]}";
          redis.append({"SET", "session:" + n, doc});
        }
      }
      redis.drain();
    }
    progress("seeded " + std::to_string(id) + " orders, used_memory " +
             std::to_string(redis_used_memory(redis) / 1'000'000) + " MB, " +
             std::to_string(static_cast<int>(seconds_since(start))) + " s");
  }
}

void sqlite_exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string text = error ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error("sqlite: " + text);
  }
}

// ------------------------------------------------------------------- main --

struct Row {
  std::string engine, version;
  std::uint64_t dataset_bytes = 0;
  double seed_seconds = 0;
  Phase dump, full;
};

std::string mb(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / 1e6);
  return text;
}

std::string rate(std::uint64_t bytes, double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / 1e6 / seconds);
  return text;
}

void print_header() {
  std::printf(
      "| engine | server version (probe) | dataset on the server (MB) | dump (MB) | dump only "
      "MB/s (s) | full pipeline MB/s (s) | stored (MB, ratio) | peak RSS dump only / pipeline "
      "(MiB) |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|\n");
}

void print_row(const Row& row) {
  char ratio[32];
  std::snprintf(
      ratio, sizeof ratio, "%.2f",
      static_cast<double>(row.full.raw_bytes) / static_cast<double>(row.full.stored_bytes));
  std::printf("| %s | %s | %s | %s | %s (%.1f) | %s (%.1f) | %s (%s) | %llu / %llu |\n",
              row.engine.c_str(), row.version.c_str(), mb(row.dataset_bytes).c_str(),
              mb(row.dump.raw_bytes).c_str(), rate(row.dump.raw_bytes, row.dump.seconds).c_str(),
              row.dump.seconds, rate(row.full.raw_bytes, row.full.seconds).c_str(),
              row.full.seconds, mb(row.full.stored_bytes).c_str(), ratio,
              static_cast<unsigned long long>(row.dump.peak_rss_kib / 1024),
              static_cast<unsigned long long>(row.full.peak_rss_kib / 1024));
  std::fflush(stdout);
}

void measure(Row& row, const backup::v1::Target& target, const fs::path& work) {
  progress(row.engine + ": dataset " + mb(row.dataset_bytes) + " MB seeded in " +
           std::to_string(static_cast<int>(row.seed_seconds)) + " s; dump only");
  row.dump = dump_only(target);
  progress(row.engine + ": " + mb(row.dump.raw_bytes) + " MB in " +
           std::to_string(row.dump.seconds) + " s; full pipeline");
  row.full = full_pipeline(target, work);
  row.version = row.full.version;
  if (row.full.raw_bytes != row.dump.raw_bytes) {
    progress(row.engine + ": note: the two dumps differ in size (" +
             std::to_string(row.dump.raw_bytes) + " vs " + std::to_string(row.full.raw_bytes) +
             " bytes)");
  }
}

backup::v1::Target tcp_target(backup::v1::DbType type, int port, const std::string& database,
                              const std::string& user, const std::string& password) {
  backup::v1::Target target;
  target.set_id("bench");
  target.set_type(type);
  auto& c = *target.mutable_connection();
  c.set_host("127.0.0.1");
  c.set_port(static_cast<std::uint32_t>(port));
  c.set_database(database);
  c.set_username(user);
  c.set_password_secret_ref(password);
  return target;
}

Row bench(const std::string& engine, std::uint64_t target_bytes) {
  TempDir work("backupy-bench-drivers");
  Row row;
  row.engine = engine;
  const auto seed_start = Clock::now();
  if (engine == "postgresql") {
    PostgresServer pg;
    pg.psql(
        "CREATE TABLE orders(id bigint PRIMARY KEY, customer_id int, customer_name text, "
        "email text, status text, amount numeric(12,2), currency char(3), created_at "
        "timestamptz, reference text, note text, payload bytea)");
    const auto size = [&] {
      return std::stoull(pg.psql("SELECT pg_database_size(current_database())"));
    };
    seed_in_chunks(
        target_bytes, [&](long from, long to) { pg.psql(with_range(kPgSeed, from, to)); }, size);
    pg.psql("VACUUM ANALYZE orders");
    row.dataset_bytes = size();
    row.seed_seconds = seconds_since(seed_start);
    measure(row,
            tcp_target(backup::v1::POSTGRESQL, pg.port(), pg.database(), pg.user(), pg.password()),
            work.path());
  } else if (engine == "mariadb") {
    MariaDbServer db;
    db.sql(
        "CREATE TABLE orders(id BIGINT PRIMARY KEY, customer_id INT, customer_name VARCHAR(64), "
        "email VARCHAR(64), status VARCHAR(16), amount DECIMAL(12,2), currency CHAR(3), "
        "created_at DATETIME(6), reference VARCHAR(16), note TEXT, payload VARBINARY(16)) "
        "DEFAULT CHARSET=utf8mb4");
    const fs::path ibd = db.data_dir() / db.database() / "orders.ibd";
    const auto size = [&] { return static_cast<std::uint64_t>(fs::file_size(ibd)); };
    seed_in_chunks(
        target_bytes, [&](long from, long to) { db.sql(with_range(kMariaSeed, from, to)); }, size);
    row.dataset_bytes = size();
    row.seed_seconds = seconds_since(seed_start);
    measure(row,
            tcp_target(backup::v1::MARIADB, db.port(), db.database(), db.user(), db.password()),
            work.path());
  } else if (engine == "redis") {
    RedisServer server;
    Redis redis(server.port(), server.password());
    seed_redis(redis, target_bytes);
    row.dataset_bytes = redis_used_memory(redis);
    row.seed_seconds = seconds_since(seed_start);
    measure(row, tcp_target(backup::v1::REDIS, server.port(), "", "", server.password()),
            work.path());
  } else if (engine == "sqlite") {
    const fs::path file = work.path() / "bench.db";
    sqlite3* db = nullptr;
    if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite open");
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> close(db, &sqlite3_close);
    sqlite_exec(db,
                "PRAGMA journal_mode=WAL; CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id "
                "INTEGER, customer_name TEXT, email TEXT, status TEXT, amount NUMERIC, currency "
                "TEXT, created_at TEXT, reference TEXT, note TEXT, payload BLOB)");
    const auto size = [&] {
      sqlite_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
      return static_cast<std::uint64_t>(fs::file_size(file));
    };
    seed_in_chunks(
        target_bytes,
        [&](long from, long to) { sqlite_exec(db, with_range(kSqliteSeed, from, to)); }, size);
    close.reset();
    row.dataset_bytes = fs::file_size(file);
    row.seed_seconds = seconds_since(seed_start);
    backup::v1::Target target;
    target.set_id("bench");
    target.set_type(backup::v1::SQLITE);
    target.mutable_connection()->set_database(file.string());
    measure(row, target, work.path());
  } else {
    throw std::invalid_argument("unknown engine " + engine);
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc == 2 ? argv[1] : "";
    if (command == "header") {
      print_header();
      return 0;
    }
    if (command.empty()) {
      std::cerr << "usage: driver_bench header | postgresql | mariadb | redis | sqlite\n";
      return 2;
    }
    if (!reset_peak_rss()) progress("cannot reset VmHWM: peak RSS includes the seeding");
    print_row(bench(command, env_u64("BENCH_DB_BYTES", 500'000'000)));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "driver_bench: " << e.what() << '\n';
    return 1;
  }
}
