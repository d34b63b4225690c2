#pragma once
// The RunManager test fixture shared by run_manager_test.cpp,
// run_policies_test.cpp and agent_runs_test.cpp: real SQLite journal, real
// drivers (SQLite, plus a synthetic engine for timing-sensitive cases), the
// real pipeline into a real spool directory, real HTTP uploads to a scripted
// server on loopback, and a clock the test can move (RunManagerOptions::now_ms).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/drivers/builtin.hpp"
#include "backupy/runs/run_manager.hpp"
#include "backupy/state/state_db.hpp"
#include "backupy/stream/cancelled.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_http_server.hpp"

namespace backupy::runs {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using backup::v1::Envelope;
using state::RunState;
using test_support::Reply;
using test_support::TempDir;
using test_support::TestHttpServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kSignature = "SECRETSIGNATURE0123456789";

std::string dek_bytes() {
  std::string dek(32, '\0');
  for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<char>(0x40 + i);
  return dek;
}

// A synthetic engine (registered as PostgreSQL here): `bytes` of text in
// 64 KiB pieces, optionally pausing between pieces so that cancel, timeout
// and progress have something to interrupt.
struct SyntheticSpec {
  std::uint64_t bytes = 256 * 1024;
  std::chrono::milliseconds pause{0};
  bool incompressible = false;
  std::string fail_with;  // non-empty: throw this after the first piece
};

class SyntheticDriver : public drivers::Driver {
 public:
  explicit SyntheticDriver(SyntheticSpec spec) : spec_(std::move(spec)) {}
  std::string probe() override { return "Synthetic 1.0"; }
  std::optional<std::uint64_t> size_hint() const override { return spec_.bytes; }
  void dump(stream::ByteSink& out, std::stop_token stop) override {
    std::string piece(64 * 1024, 'x');
    std::uint32_t x = 2463534242u;
    for (std::uint64_t sent = 0; sent < spec_.bytes;) {
      if (stop.stop_requested()) throw stream::Cancelled();
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), spec_.bytes - sent));
      if (spec_.incompressible) {
        for (std::size_t i = 0; i < n; ++i) {
          x ^= x << 13;
          x ^= x >> 17;
          x ^= x << 5;
          piece[i] = static_cast<char>(x);
        }
      }
      out.write(std::string_view(piece).substr(0, n));
      sent += n;
      if (!spec_.fail_with.empty()) throw drivers::DriverError(spec_.fail_with);
      if (spec_.pause.count() > 0) std::this_thread::sleep_for(spec_.pause);
    }
  }

 private:
  SyntheticSpec spec_;
};

class RunManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = state::StateDb::open(dir_.path() / "state.db");
    journal_ = std::make_unique<state::RunJournal>(*db_, std::string(64, 'k'));
    drivers_ = drivers::builtin_drivers();
    drivers_.add(backup::v1::POSTGRESQL, [this](const drivers::DumpContext&) {
      return std::make_unique<SyntheticDriver>(synthetic_);
    });
    create_sqlite_database();

    config_.set_version(7);
    auto* lite = config_.add_targets();
    lite->set_id("lite");
    lite->set_type(backup::v1::SQLITE);
    lite->mutable_connection()->set_database((dir_.path() / "app.db").string());
    auto* syn = config_.add_targets();
    syn->set_id("syn");
    syn->set_type(backup::v1::POSTGRESQL);
    add_job("lite-job", "lite");
    add_job("syn-job", "syn");

    options_.spool_dir = dir_.path() / "spool";
    options_.work_dir = dir_.path() / "work";
    options_.upload.max_attempts = 3;
    options_.upload.backoff = {.initial = 50ms, .cap = 200ms};
    options_.upload.connect_timeout = 2s;
    options_.upload.idle_timeout = 2s;
    options_.hook_timeout = 10s;
    // Real time plus whatever the test moved the clock by.
    options_.now_ms = [this] {
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(core_now_ms()) +
                                        clock_offset_ms_.load());
    };
    options_.wrap_dek = &stand_in_wrap;
    io_thread_ = std::jthread([this] { io_.run(); });
  }

  void TearDown() override {
    stop_manager();
    work_.reset();
    io_.stop();
    io_thread_.join();
    for (const auto& envelope : reports()) {
      EXPECT_THAT(envelope.DebugString(), Not(HasSubstr(std::string(kSignature))));
    }
  }

  backup::v1::BackupJobSpec* add_job(const std::string& id, const std::string& target) {
    auto* job = config_.add_jobs();
    job->set_id(id);
    job->set_target_id(target);
    job->set_compression("zstd");
    job->set_encryption_enabled(true);
    return job;
  }
  backup::v1::BackupJobSpec& job(const std::string& id) {
    for (auto& job : *config_.mutable_jobs()) {
      if (job.id() == id) return job;
    }
    throw std::logic_error("no job " + id);
  }

  void create_sqlite_database() {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "app.db").c_str(), &db), SQLITE_OK);
    std::string sql = "BEGIN; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);";
    for (int i = 0; i < 2000; ++i) {
      sql += "INSERT INTO t(v) VALUES ('row " + std::to_string(i) + " of the backup test');";
    }
    sql += "COMMIT;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  // Runs f on the control thread (as the session would) and returns its result.
  template <typename F>
  auto on_control(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void start_manager(bool recover = true) {
    auto config = std::make_shared<backup::v1::AgentConfig>(config_);
    manager_ = std::make_unique<RunManager>(
        io_, options_, *db_, *journal_, drivers_, [config] { return config; },
        [this](Envelope envelope) {
          std::lock_guard lock(mutex_);
          reports_.push_back(std::move(envelope));
          cv_.notify_all();
        });
    if (recover) on_control([this] { manager_->recover(); });
  }
  void stop_manager() {
    if (manager_) on_control([this] { manager_.reset(); });
  }

  backup::v1::RunBackup command(const std::string& job_id, const std::string& run_id,
                                const TestHttpServer& server, std::string path = "") {
    backup::v1::RunBackup run;
    run.set_job_id(job_id);
    run.set_run_id(run_id);
    run.set_encrypted_dek(dek_bytes());
    if (path.empty()) path = "/bucket/agents/a1/" + job_id + "/" + run_id + ".bkpy";
    auto* creds = run.mutable_upload_creds();
    creds->set_presigned_put_url("http://127.0.0.1:" + std::to_string(server.port()) + path +
                                 "?X-Amz-Signature=" + std::string(kSignature));
    creds->set_expires_at_ms(core_now_ms() + 3600 * 1000);
    creds->set_final_s3_key(path.substr(8));
    return run;
  }
  static std::uint64_t core_now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }

  backup::v1::Ack submit(const backup::v1::RunBackup& run) {
    return on_control([&] { return manager_->run_backup(run); });
  }
  backup::v1::Ack cancel(const std::string& job_id) {
    return on_control([&] { return manager_->cancel_job(job_id); });
  }

  std::vector<Envelope> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::vector<backup::v1::JobUpdate> updates_of(const std::string& run_id) {
    std::vector<backup::v1::JobUpdate> updates;
    for (const auto& envelope : reports()) {
      if (envelope.has_job_update() && envelope.job_update().run_id() == run_id) {
        updates.push_back(envelope.job_update());
      }
    }
    return updates;
  }
  std::optional<backup::v1::BackupCompleted> completion_of(const std::string& run_id) {
    for (const auto& envelope : reports()) {
      if (envelope.has_backup_completed() && envelope.backup_completed().run_id() == run_id) {
        return envelope.backup_completed();
      }
    }
    return std::nullopt;
  }
  static bool is_final(backup::v1::JobStatus status) {
    return status == backup::v1::SUCCESS || status == backup::v1::FAILED ||
           status == backup::v1::CANCELLED;
  }
  // Waits for the run's final JobUpdate.
  backup::v1::JobUpdate final_update(const std::string& run_id,
                                     std::chrono::milliseconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    backup::v1::JobUpdate found;
    const bool ok = cv_.wait_for(lock, timeout, [&] {
      for (const auto& envelope : reports_) {
        if (envelope.has_job_update() && envelope.job_update().run_id() == run_id &&
            is_final(envelope.job_update().status())) {
          found = envelope.job_update();
          return true;
        }
      }
      return false;
    });
    if (!ok) ADD_FAILURE() << "run " << run_id << " did not finish";
    return found;
  }
  // Waits until some JobUpdate of the run has this step.
  bool wait_for_step(const std::string& run_id, const std::string& step,
                     std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& envelope : reports_) {
        if (envelope.has_job_update() && envelope.job_update().run_id() == run_id &&
            envelope.job_update().current_step() == step) {
          return true;
        }
      }
      return false;
    });
  }
  bool spool_is_empty() const {
    return !fs::exists(options_.spool_dir) || fs::is_empty(options_.spool_dir);
  }

  // Decrypts and decompresses an uploaded body.
  static std::string restore(const std::string& body, bool encrypted) {
    stream::MemorySink raw;
    auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
    if (encrypted) {
      const std::string dek = dek_bytes();
      std::array<std::uint8_t, 32> key{};
      std::copy(dek.begin(), dek.end(), key.begin());
      stream::MemorySink compressed;
      blob::BlobReader reader{std::span(key), compressed};
      reader.write(body);
      reader.finish();
      decompressor->write(compressed.data());
    } else {
      decompressor->write(body);
    }
    decompressor->finish();
    return raw.take();
  }
  // The rows of a restored database file: the online-backup copy is the same
  // database, not necessarily the same bytes as the live file.
  std::string rows_of_database(const std::string& bytes) {
    const fs::path file = dir_.path() / ("restored-" + std::to_string(++restored_) + ".db");
    std::ofstream(file, std::ios::binary) << bytes;
    sqlite3* db = nullptr;
    std::string rows;
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_exec(
          db, "SELECT count(*) || '/' || group_concat(v, ',') FROM t",
          [](void* out, int, char** values, char**) {
            *static_cast<std::string*>(out) = values[0] ? values[0] : "";
            return 0;
          },
          &rows, nullptr);
    }
    sqlite3_close(db);
    return rows;
  }
  std::string expected_rows() {
    std::string rows = "2000/";
    for (int i = 0; i < 2000; ++i) {
      rows += (i ? "," : "") + std::string("row ") + std::to_string(i) + " of the backup test";
    }
    return rows;
  }
  // Files are removed just after the result is reported: allow a moment.
  bool spool_becomes_empty() const {
    for (int i = 0; i < 500; ++i) {
      if (spool_is_empty()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // The test's clock: real time + offset (every policy of the manager reads it).
  std::uint64_t now() const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(core_now_ms()) +
                                      clock_offset_ms_.load());
  }
  void advance_clock(std::chrono::milliseconds by) { clock_offset_ms_ += by.count(); }
  void set_clock(std::uint64_t epoch_ms) {
    clock_offset_ms_ =
        static_cast<std::int64_t>(epoch_ms) - static_cast<std::int64_t>(core_now_ms());
  }

  // A deterministic stand-in for crypto::wrap_dek (the real one is tested in
  // packages/crypto and by the integration tests): "WRAP" || key_id || 0x00 ||
  // (dek XOR 0x5A), so a test can recover the DEK from what was reported.
  static std::vector<std::uint8_t> stand_in_wrap(std::span<const std::uint8_t, 32> dek,
                                                 const backup::v1::KeyWrappingKey& key) {
    std::vector<std::uint8_t> out;
    out.reserve(4 + key.key_id().size() + 1 + 32);
    for (char c : "WRAP" + key.key_id()) out.push_back(static_cast<std::uint8_t>(c));
    out.push_back(0);
    for (std::uint8_t b : dek) out.push_back(static_cast<std::uint8_t>(b ^ 0x5A));
    return out;
  }
  static std::array<std::uint8_t, 32> unwrap_stand_in(const std::string& wrapped) {
    std::array<std::uint8_t, 32> dek{};
    if (wrapped.size() < 32) {
      ADD_FAILURE() << "wrapped DEK too short";
      return dek;
    }
    const std::string tail = wrapped.substr(wrapped.size() - 32);
    for (std::size_t i = 0; i < 32; ++i) {
      dek[i] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(tail[i]) ^ 0x5A);
    }
    return dek;
  }

  // Every report of a kind, in outbox order.
  std::vector<Envelope> reports_where(bool (Envelope::*has)() const) {
    std::vector<Envelope> out;
    for (auto& envelope : reports()) {
      if ((envelope.*has)()) out.push_back(std::move(envelope));
    }
    return out;
  }
  // Waits until pred(reports) holds.
  template <typename Pred>
  bool wait_reports(Pred pred, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return pred(reports_); });
  }
  // Waits until the journal shows the run in `state`.
  bool wait_state(const std::string& run_id, state::RunState state,
                  std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto record = journal_->get(run_id); record && record->state == state) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  // Restores an upload body with an explicit key.
  static std::string restore_with(const std::string& body,
                                  const std::array<std::uint8_t, 32>& key) {
    stream::MemorySink raw;
    auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
    stream::MemorySink compressed;
    blob::BlobReader reader{std::span(key), compressed};
    reader.write(body);
    reader.finish();
    decompressor->write(compressed.data());
    decompressor->finish();
    return raw.take();
  }

  std::atomic<std::int64_t> clock_offset_ms_{0};
  TempDir dir_{"backupy-runs-test"};
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<state::RunJournal> journal_;
  drivers::DriverRegistry drivers_;
  SyntheticSpec synthetic_;
  backup::v1::AgentConfig config_;
  RunManagerOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::jthread io_thread_;
  std::unique_ptr<RunManager> manager_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Envelope> reports_;
  int restored_ = 0;
};

}  // namespace
}  // namespace backupy::runs
