// RunManager end to end inside one process: real SQLite journal, real drivers
// (SQLite, plus a synthetic engine for timing-sensitive cases), the real
// pipeline into a real spool directory, and real HTTP uploads to a scripted
// server on loopback. The agent/control-plane/S3 level is covered by the
// integration tests.
#include "run_manager_fixture.hpp"

namespace backupy::runs {
namespace {

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

// ---- observers (the agent's metrics) ----------------------------------------

TEST_F(RunManagerTest, EveryTerminalReportReachesTheObserversWithItsFigures) {
  std::mutex mutex;
  std::vector<RunEnded> ended;
  std::uint64_t retries = 0;
  options_.on_run_ended = [&](const RunEnded& run) {
    std::lock_guard lock(mutex);
    ended.push_back(run);
  };
  options_.on_upload_retries = [&](std::uint64_t n) {
    std::lock_guard lock(mutex);
    retries += n;
  };
  TestHttpServer server({Reply{.status = 503}, Reply{}});
  start_manager();
  submit(command("lite-job", "run-ok", server));
  ASSERT_EQ(final_update("run-ok").status(), backup::v1::SUCCESS);
  synthetic_.fail_with = "pg_dump: error: connection to server lost";
  submit(command("syn-job", "run-fail", server));
  ASSERT_EQ(final_update("run-fail").status(), backup::v1::FAILED);
  submit(command("nope", "run-refused", server));
  ASSERT_EQ(final_update("run-refused").status(), backup::v1::FAILED);

  std::lock_guard lock(mutex);
  ASSERT_EQ(ended.size(), 3u);
  const auto done = completion_of("run-ok");
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(ended[0].job_id, "lite-job");
  EXPECT_EQ(ended[0].target_id, "lite");
  EXPECT_EQ(ended[0].status, backup::v1::SUCCESS);
  EXPECT_EQ(ended[0].stored_bytes, done->size_bytes());
  EXPECT_GT(ended[0].raw_bytes, 0u);
  EXPECT_GT(ended[0].finished_ms, 0u);
  EXPECT_EQ(ended[1].job_id, "syn-job");
  EXPECT_EQ(ended[1].target_id, "syn");
  EXPECT_EQ(ended[1].status, backup::v1::FAILED);
  EXPECT_EQ(ended[1].stored_bytes, 0u);
  EXPECT_EQ(ended[2].job_id, "nope");
  EXPECT_EQ(ended[2].status, backup::v1::FAILED);
  EXPECT_EQ(retries, 1u);
}

}  // namespace
}  // namespace backupy::runs
