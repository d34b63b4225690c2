// RunManager end to end inside one process: real SQLite journal, real drivers
// (SQLite, plus a synthetic engine for timing-sensitive cases), the real
// pipeline into a real spool directory, and real HTTP uploads to a scripted
// server on loopback. The agent/control-plane/S3 level is covered by the
// integration tests.
#include "backupy/runs/run_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/mount.h>

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

// ---- the whole way -------------------------------------------------------

TEST_F(RunManagerTest, SqliteRunIsUploadedRestorableAndReportedOnce) {
  TestHttpServer server({Reply{.headers = {{"ETag", "\"abc\""}}}});
  server.keep_bodies(true);
  start_manager();
  const auto ack = submit(command("lite-job", "run-1", server));
  EXPECT_TRUE(ack.accepted()) << ack.reason();
  const auto final = final_update("run-1");
  ASSERT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(final.current_step(), "completed");
  EXPECT_EQ(final.progress_percent(), 100u);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& request = requests[0];
  EXPECT_EQ(request.method, "PUT");
  EXPECT_EQ(request.header("content-type"), "application/octet-stream");
  // The uploaded object restores to exactly the database file.
  EXPECT_EQ(rows_of_database(restore(request.body, true)), expected_rows());

  const auto done = completion_of("run-1");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->job_id(), "lite-job");
  EXPECT_EQ(done->s3_key(), "agents/a1/lite-job/run-1.bkpy");
  EXPECT_EQ(done->size_bytes(), request.body_bytes);
  EXPECT_EQ(done->sha256(), request.body_sha256);
  EXPECT_EQ(done->encrypted_dek(), dek_bytes());
  EXPECT_EQ(done->compression(), "zstd");
  EXPECT_EQ(done->db_engine_version(), std::string("SQLite ") + sqlite3_libversion());

  // Transitions in order; BackupCompleted precedes the final JobUpdate.
  std::vector<std::string> steps;
  for (const auto& update : updates_of("run-1")) steps.push_back(update.current_step());
  EXPECT_EQ(steps.front(), "queued");
  EXPECT_THAT(steps, ::testing::IsSupersetOf({"dumping", "waiting_for_upload", "uploading"}));
  const auto all = reports();
  std::size_t completed_at = 0, success_at = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].has_backup_completed()) completed_at = i;
    if (all[i].has_job_update() && all[i].job_update().status() == backup::v1::SUCCESS) {
      success_at = i;
    }
  }
  EXPECT_LT(completed_at, success_at);

  const auto record = journal_->get("run-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, RunState::completed);
  std::vector<RunState> states;
  for (const auto& event : journal_->events("run-1")) states.push_back(event.state);
  EXPECT_EQ(states, (std::vector<RunState>{RunState::queued, RunState::running, RunState::spooled,
                                           RunState::uploading, RunState::completed}));
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(RunManagerTest, EncryptionDisabledStoresPlainZstdAndEchoesNoKey) {
  job("lite-job").set_encryption_enabled(false);
  TestHttpServer server({Reply{}});
  server.keep_bodies(true);
  start_manager();
  submit(command("lite-job", "run-plain", server));
  ASSERT_EQ(final_update("run-plain").status(), backup::v1::SUCCESS);
  EXPECT_EQ(rows_of_database(restore(server.requests().at(0).body, false)), expected_rows());
  EXPECT_TRUE(completion_of("run-plain")->encrypted_dek().empty());
}

TEST_F(RunManagerTest, GzipAndNoneAreReportedAsUsed) {
  job("syn-job").set_compression("none");
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-none", server));
  ASSERT_EQ(final_update("run-none").status(), backup::v1::SUCCESS);
  EXPECT_EQ(completion_of("run-none")->compression(), "none");
  EXPECT_EQ(completion_of("run-none")->db_engine_version(), "Synthetic 1.0");
}

TEST_F(RunManagerTest, TheDriverGetsTheDockerSocketOfTheOptions) {
  // BACKUPY_DOCKER_SOCKET → RunManagerOptions → DumpContext (DOCKER_EXEC targets).
  options_.docker_socket = dir_.path() / "engine.sock";
  std::filesystem::path seen;
  drivers_.add(backup::v1::POSTGRESQL, [&](const drivers::DumpContext& context) {
    seen = context.docker_socket;
    return std::make_unique<SyntheticDriver>(synthetic_);
  });
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-socket", server));
  ASSERT_EQ(final_update("run-socket").status(), backup::v1::SUCCESS);
  EXPECT_EQ(seen, dir_.path() / "engine.sock");
}

// ---- idempotency and credentials -----------------------------------------

TEST_F(RunManagerTest, ARepeatedRunIdNeverStartsASecondRun) {
  TestHttpServer server({Reply{}});
  start_manager();
  const auto run = command("lite-job", "run-dup", server);
  submit(run);
  ASSERT_EQ(final_update("run-dup").status(), backup::v1::SUCCESS);
  const auto again = submit(run);
  EXPECT_FALSE(again.accepted());
  EXPECT_THAT(again.reason(), HasSubstr("already finished (completed)"));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server.requests().size(), 1u);
  std::size_t completions = 0;
  for (const auto& envelope : reports()) completions += envelope.has_backup_completed();
  EXPECT_EQ(completions, 1u);
}

TEST_F(RunManagerTest, ARepeatedRunBackupRefreshesTheCredentialsOfAWaitingUpload) {
  // The first PUT fails; during the backoff the control plane re-sends the
  // RunBackup with a new URL, which the retry uses.
  options_.upload.backoff = {.initial = 1500ms, .cap = 1500ms};
  TestHttpServer server({Reply{.status = 503}, Reply{}});
  start_manager();
  submit(command("lite-job", "run-refresh", server));
  for (int i = 0; i < 400 && server.requests().empty(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(server.requests().size(), 1u);
  const auto ack = submit(command("lite-job", "run-refresh", server, "/bucket/fresh/url.bkpy"));
  EXPECT_TRUE(ack.accepted());
  EXPECT_THAT(ack.reason(), HasSubstr("credentials were refreshed"));
  ASSERT_EQ(final_update("run-refresh").status(), backup::v1::SUCCESS);
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_THAT(server.requests()[1].target, ::testing::StartsWith("/bucket/fresh/url.bkpy?"));
}

// ---- refusals --------------------------------------------------------------

TEST_F(RunManagerTest, AWrongSizedKeyIsRefusedAndJournalled) {
  TestHttpServer server({Reply{}});
  start_manager();
  auto run = command("lite-job", "run-key", server);
  run.set_encrypted_dek(std::string(17, 'k'));
  const auto ack = submit(run);
  EXPECT_FALSE(ack.accepted());
  const auto final = final_update("run-key");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "RunBackup carries a 17-byte data key; encryption needs exactly 32 bytes");
  EXPECT_EQ(journal_->get("run-key")->state, RunState::failed);
  EXPECT_EQ(server.connections(), 0);
  // Refused is final too: the same run id does not start later.
  run.set_encrypted_dek(dek_bytes());
  EXPECT_FALSE(submit(run).accepted());
}

TEST_F(RunManagerTest, JobsWithHooksAreRefusedWhileHooksAreDisabled) {
  job("lite-job").add_pre_hooks("true");
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("lite-job", "run-hooks-off", server));
  EXPECT_THAT(final_update("run-hooks-off").error_message(),
              HasSubstr("hooks are disabled on this agent"));
}

TEST_F(RunManagerTest, AnUnknownJobIsRefused) {
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("nope", "run-nope", server));
  EXPECT_EQ(final_update("run-nope").error_message(),
            "job \"nope\" is not in this agent's configuration (version 7)");
}

// ---- failures --------------------------------------------------------------

TEST_F(RunManagerTest, AFailingDumpIsReportedWithItsReasonAndLeavesNoSpool) {
  synthetic_.fail_with = "pg_dump: error: connection to server lost";
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-fail", server));
  const auto final = final_update("run-fail");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(), "pg_dump: error: connection to server lost");
  EXPECT_EQ(final.current_step(), "dumping");
  EXPECT_EQ(server.connections(), 0);
  EXPECT_TRUE(spool_becomes_empty());
  EXPECT_FALSE(completion_of("run-fail").has_value());
}

TEST_F(RunManagerTest, AnEmptyDumpIsAFailureNotASuccess) {
  synthetic_.bytes = 0;
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-empty", server));
  EXPECT_EQ(final_update("run-empty").error_message(), "the dump of target syn produced no data");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(RunManagerTest, AnUploadRefusedBy403FailsWithoutLeakingTheSignature) {
  TestHttpServer server(
      {Reply{.status = 403, .body = "<Error><Code>SignatureDoesNotMatch</Code></Error>"}});
  start_manager();
  submit(command("lite-job", "run-403", server));
  const auto final = final_update("run-403");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_THAT(final.error_message(), HasSubstr("403"));
  EXPECT_THAT(final.error_message(), Not(HasSubstr(std::string(kSignature))));
  EXPECT_EQ(server.requests().size(), 1u);  // 4xx: no retry
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(RunManagerTest, TheSpoolBudgetFailsTheRunCleanlyAndTheAgentCarriesOn) {
  options_.spool_max_bytes = 256 * 1024;
  synthetic_.bytes = 2 * 1024 * 1024;
  synthetic_.incompressible = true;
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-big", server));
  const auto final = final_update("run-big");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_THAT(final.error_message(), HasSubstr("more spool space than the budget allows"));
  EXPECT_TRUE(spool_becomes_empty());
  // The next run fits and completes.
  submit(command("lite-job", "run-small", server));
  EXPECT_EQ(final_update("run-small").status(), backup::v1::SUCCESS);
}

// A small tmpfs, so that the spool really runs out of space (root only: the
// test is skipped, saying why, where mounting is not allowed).
class TinyFilesystem {
 public:
  explicit TinyFilesystem(fs::path dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m,mode=0700") == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TinyFilesystem() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TinyFilesystem(const TinyFilesystem&) = delete;
  TinyFilesystem& operator=(const TinyFilesystem&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST_F(RunManagerTest, AFullDiskFailsTheRunCleanlyAndTheAgentCarriesOn) {
  TinyFilesystem tiny(options_.spool_dir);
  if (!tiny.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tiny.error();
  synthetic_.bytes = 4 * 1024 * 1024;
  synthetic_.incompressible = true;
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-enospc", server));
  const auto final = final_update("run-enospc");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_THAT(final.error_message(), HasSubstr("no space left on device while writing"));
  EXPECT_TRUE(spool_becomes_empty());
  EXPECT_EQ(server.connections(), 0);
  // Space is back: the next run completes.
  submit(command("lite-job", "run-after-enospc", server));
  EXPECT_EQ(final_update("run-after-enospc").status(), backup::v1::SUCCESS);
}

// ---- cancel and timeout ----------------------------------------------------

TEST_F(RunManagerTest, CancelJobStopsTheDumpAndRemovesTheSpool) {
  synthetic_.bytes = 1ull << 30;
  synthetic_.pause = 20ms;
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-cancel", server));
  ASSERT_TRUE(wait_for_step("run-cancel", "dumping"));
  const auto ack = cancel("syn-job");
  EXPECT_TRUE(ack.accepted());
  EXPECT_EQ(ack.reason(), "cancelling 1 run of job \"syn-job\"");
  const auto final = final_update("run-cancel", 10s);
  EXPECT_EQ(final.status(), backup::v1::CANCELLED);
  EXPECT_EQ(final.error_message(), "cancelled by the control plane");
  EXPECT_EQ(journal_->get("run-cancel")->state, RunState::cancelled);
  EXPECT_TRUE(spool_becomes_empty());
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(RunManagerTest, CancelWithoutActiveRunsSaysSo) {
  start_manager();
  const auto ack = cancel("syn-job");
  EXPECT_FALSE(ack.accepted());
  EXPECT_EQ(ack.reason(), "no active run for job \"syn-job\"");
}

TEST_F(RunManagerTest, CancelReachesRunsWaitingInTheQueue) {
  synthetic_.bytes = 1ull << 30;
  synthetic_.pause = 20ms;
  TestHttpServer server({Reply{}});
  start_manager();  // max_parallel_jobs unset: one dump at a time
  submit(command("syn-job", "run-a", server));
  submit(command("syn-job", "run-b", server));
  // Either may win the one dump slot; the other waits in the queue.
  ASSERT_TRUE(wait_for_step("run-a", "dumping", 5s) || wait_for_step("run-b", "dumping", 5s));
  std::this_thread::sleep_for(100ms);
  const bool a_dumps = wait_for_step("run-a", "dumping", 0ms);
  EXPECT_NE(a_dumps, wait_for_step("run-b", "dumping", 0ms));
  EXPECT_EQ(cancel("syn-job").reason(), "cancelling 2 runs of job \"syn-job\"");
  EXPECT_EQ(final_update("run-a").status(), backup::v1::CANCELLED);
  EXPECT_EQ(final_update("run-b").status(), backup::v1::CANCELLED);
}

TEST_F(RunManagerTest, TimeoutFailsTheRunWithTheLimitInTheReason) {
  synthetic_.bytes = 1ull << 30;
  synthetic_.pause = 20ms;
  job("syn-job").set_timeout_sec(1);
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("syn-job", "run-slow", server));
  const auto final = final_update("run-slow", 15s);
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(), "timed out after 1 s");
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(RunManagerTest, ProgressIsReportedAtMostOncePerInterval) {
  synthetic_.bytes = 40 * 64 * 1024;
  synthetic_.pause = 50ms;  // ~2 s of dumping
  TestHttpServer server({Reply{}});
  start_manager();
  const auto started = std::chrono::steady_clock::now();
  submit(command("syn-job", "run-progress", server));
  ASSERT_EQ(final_update("run-progress").status(), backup::v1::SUCCESS);
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  std::size_t dumping = 0;
  std::uint32_t last_percent = 0;
  for (const auto& update : updates_of("run-progress")) {
    if (update.current_step() != "dumping") continue;
    ++dumping;
    EXPECT_GE(update.progress_percent(), last_percent);
    EXPECT_LT(update.progress_percent(), 100u);
    last_percent = update.progress_percent();
  }
  EXPECT_GE(dumping, 2u);  // the transition plus at least one progress update
  EXPECT_LE(dumping, static_cast<std::size_t>(seconds) + 2);
  EXPECT_GT(last_percent, 0u);
}

// ---- hooks -----------------------------------------------------------------

TEST_F(RunManagerTest, HooksRunInOrderAndPostHooksSeeTheOutcome) {
  options_.hooks_enabled = true;
  const fs::path trace = dir_.path() / "hooks.log";
  auto& lite = job("lite-job");
  lite.add_pre_hooks("echo pre1 >> " + trace.string());
  lite.add_pre_hooks("echo pre2 >> " + trace.string());
  lite.add_post_hooks("echo \"post $BACKUPY_RUN_STATUS $BACKUPY_SIZE_BYTES $BACKUPY_SHA256\" >> " +
                      trace.string());
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("lite-job", "run-hooked", server));
  ASSERT_EQ(final_update("run-hooked").status(), backup::v1::SUCCESS);
  const auto done = completion_of("run-hooked");
  // Post hooks run after the result is reported; wait for their LogEvent.
  for (int i = 0; i < 500; ++i) {
    if (read_file(trace).find("post") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(read_file(trace), "pre1\npre2\npost success " + std::to_string(done->size_bytes()) +
                                  " " + done->sha256() + "\n");
  // The post hook's LogEvent follows its process's exit.
  std::size_t hook_events = 0;
  for (int i = 0; i < 500 && hook_events < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(10ms);
    hook_events = 0;
    for (const auto& envelope : reports()) {
      if (envelope.has_log_event() && envelope.log_event().fields().count("phase")) ++hook_events;
    }
  }
  EXPECT_EQ(hook_events, 3u);
}

TEST_F(RunManagerTest, AFailingPreHookAbortsTheRunButPostHooksStillRun) {
  options_.hooks_enabled = true;
  const fs::path trace = dir_.path() / "hooks.log";
  auto& lite = job("lite-job");
  lite.add_pre_hooks("echo 'database is locked' >&2; exit 3");
  lite.add_post_hooks("echo \"post $BACKUPY_RUN_STATUS\" >> " + trace.string());
  TestHttpServer server({Reply{}});
  start_manager();
  submit(command("lite-job", "run-prefail", server));
  const auto final = final_update("run-prefail");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_THAT(final.error_message(), HasSubstr("exit code 3"));
  EXPECT_THAT(final.error_message(), HasSubstr("database is locked"));
  EXPECT_EQ(server.connections(), 0);
  for (int i = 0; i < 500 && read_file(trace).empty(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(read_file(trace), "post failed\n");
}

// ---- restarts ----------------------------------------------------------------

TEST_F(RunManagerTest, RunsLeftRunningByACrashAreFailedAtStartUp) {
  state::RunRecord record{.run_id = "run-crashed", .job_id = "lite-job", .target_id = "lite"};
  ASSERT_TRUE(journal_->insert(record, 1000));
  ASSERT_TRUE(journal_->transition("run-crashed", RunState::running, "", 2000));
  fs::create_directories(options_.spool_dir);
  std::ofstream(options_.spool_dir / "run-crashed.bkpy") << "partial";
  std::ofstream(options_.spool_dir / "stray.tmp") << "junk";
  start_manager();
  const auto final = final_update("run-crashed");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "the agent restarted while the run was running; its dump did not finish");
  EXPECT_TRUE(spool_becomes_empty());  // partial and orphan files removed
}

TEST_F(RunManagerTest, AnUploadInterruptedByShutdownResumesAtTheNextStart) {
  // The first server stalls: shutdown interrupts the upload mid-way.
  TestHttpServer stalling({Reply{.kind = Reply::Kind::stall}});
  options_.upload.idle_timeout = 30s;
  start_manager();
  submit(command("lite-job", "run-resume", stalling));
  ASSERT_TRUE(wait_for_step("run-resume", "uploading"));
  for (int i = 0; i < 500 && stalling.requests().empty(); ++i) std::this_thread::sleep_for(10ms);
  stop_manager();
  EXPECT_EQ(journal_->get("run-resume")->state, RunState::spooled);
  EXPECT_FALSE(spool_is_empty());
  for (const auto& update : updates_of("run-resume")) EXPECT_FALSE(is_final(update.status()));

  // Next start: same credentials (still valid) → the upload resumes. The URL
  // still points at the stalling server, so refresh it like a control plane
  // re-sending RunBackup would... but the resume starts before any command, so
  // point the journal at a working server instead.
  TestHttpServer working({Reply{}});
  working.keep_bodies(true);
  auto creds = journal_->get("run-resume")->creds;
  creds.presigned_put_url =
      command("lite-job", "run-resume", working).upload_creds().presigned_put_url();
  ASSERT_TRUE(journal_->update_creds("run-resume", creds, 5000));
  start_manager();
  const auto final = final_update("run-resume");
  ASSERT_EQ(final.status(), backup::v1::SUCCESS) << final.error_message();
  EXPECT_EQ(rows_of_database(restore(working.requests().at(0).body, true)), expected_rows());
  std::size_t completions = 0;
  for (const auto& envelope : reports()) completions += envelope.has_backup_completed();
  EXPECT_EQ(completions, 1u);
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(RunManagerTest, ASpooledRunWithExpiredCredentialsFailsClearlyAtStartUp) {
  TestHttpServer stalling({Reply{.kind = Reply::Kind::stall}});
  options_.upload.idle_timeout = 30s;
  start_manager();
  submit(command("lite-job", "run-expired", stalling));
  ASSERT_TRUE(wait_for_step("run-expired", "uploading"));
  stop_manager();
  auto creds = journal_->get("run-expired")->creds;
  creds.expires_at_ms = 1767225600000;  // 2026-01-01, long gone
  ASSERT_TRUE(journal_->update_creds("run-expired", creds, 5000));
  start_manager();
  const auto final = final_update("run-expired");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_EQ(final.error_message(),
            "cannot resume the upload after a restart: its credentials expired at "
            "2026-01-01T00:00:00.000Z");
  EXPECT_TRUE(spool_becomes_empty());
}

TEST_F(RunManagerTest, ADamagedSpoolFileIsNotUploaded) {
  TestHttpServer stalling({Reply{.kind = Reply::Kind::stall}});
  options_.upload.idle_timeout = 30s;
  start_manager();
  submit(command("lite-job", "run-damaged", stalling));
  ASSERT_TRUE(wait_for_step("run-damaged", "uploading"));
  stop_manager();
  {
    std::fstream file(options_.spool_dir / "run-damaged.bkpy",
                      std::ios::in | std::ios::out | std::ios::binary);
    // Flip a byte (writing a fixed value would be a no-op when the random
    // ciphertext already held it: one run in 256).
    file.seekg(100);
    const char byte = static_cast<char>(file.get());
    file.seekp(100);
    file.put(static_cast<char>(~byte));
  }
  TestHttpServer working({Reply{}});
  auto creds = journal_->get("run-damaged")->creds;
  creds.presigned_put_url =
      command("lite-job", "run-damaged", working).upload_creds().presigned_put_url();
  ASSERT_TRUE(journal_->update_creds("run-damaged", creds, 5000));
  start_manager();
  const auto final = final_update("run-damaged");
  EXPECT_EQ(final.status(), backup::v1::FAILED);
  EXPECT_THAT(final.error_message(), HasSubstr("does not match its recorded SHA-256"));
  EXPECT_EQ(working.connections(), 0);
}

}  // namespace
}  // namespace backupy::runs
