#include "backupy/state/run_journal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <ostream>
#include <string>
#include <vector>

#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "migrations.hpp"
#include "temp_dir.hpp"

namespace backupy::state {

// Readable failures for EXPECT_EQ on records (found by ADL).
void PrintTo(const RunRecord& r, std::ostream* os) {
  *os << "{run_id=" << r.run_id << " job=" << r.job_id << " target=" << r.target_id
      << " state=" << run_state_name(r.state) << " manual=" << r.manual_trigger
      << " enc=" << r.encryption_enabled << " reason=\"" << r.reason
      << "\" created=" << r.created_ms << " updated=" << r.updated_ms << " started=" << r.started_ms
      << " finished=" << r.finished_ms << " url=" << r.creds.presigned_put_url
      << " expires=" << r.creds.expires_at_ms << " key=" << r.creds.final_s3_key
      << " dek_bytes=" << r.encrypted_dek.size() << " spool=" << r.spool.has_value()
      << " unreadable=" << r.secrets_unreadable << "}";
}

namespace {

using enum RunState;
using ::testing::ElementsAre;

constexpr std::string_view kAgentKey = "agent-key-0123456789abcdef";
constexpr std::string_view kOtherKey = "agent-key-rotated-ffffffff";
// A recognisable piece of the presigned URL: its signature.
constexpr std::string_view kSignature =
    "X-Amz-Signature=5f1c0ffee0ddba11c0de5eed5ca1ab1e0b57ac1e5e1ec7ab1ed0d0cafe0f00d5";

RunRecord make_run(std::string run_id) {
  RunRecord r;
  r.run_id = std::move(run_id);
  r.job_id = "nightly-orders";
  r.target_id = "orders-db";
  r.manual_trigger = true;
  r.encryption_enabled = true;
  r.reason = "scheduled by cron";
  r.creds.presigned_put_url = "https://s3.example.com/bucket/" + r.run_id + "?X-Amz-Expires=3600&" +
                              std::string(kSignature);
  r.creds.expires_at_ms = 1'700'000'360'000;
  r.creds.final_s3_key = "backups/orders-db/" + r.run_id + ".zst.enc";
  // Distinctive bytes, including NUL and high bytes.
  for (int i = 0; i < 48; ++i) r.encrypted_dek.push_back(static_cast<std::uint8_t>(0xA5 ^ (i * 7)));
  return r;
}

SpoolResult make_spool() {
  return {"run-1.blob", 123456, 7890, std::string(64, 'e'), "zstd", "SQLite 3.45.1"};
}

class RunJournalTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = StateDb::open(db_path());
    journal_ = std::make_unique<RunJournal>(*db_, kAgentKey);
  }
  void TearDown() override {
    journal_.reset();
    db_.reset();
    TempDirTest::TearDown();
  }

  // What insert() at now_ms should give back for r.
  static RunRecord as_inserted(RunRecord r, std::uint64_t now_ms) {
    r.created_ms = r.updated_ms = now_ms;
    r.started_ms = r.state == running ? now_ms : 0;
    r.finished_ms = is_terminal(r.state) ? now_ms : 0;
    return r;
  }

  // Inserts a queued run at t and walks it to `to` along the happy path.
  void add_run_in(const std::string& run_id, RunState to, std::uint64_t t) {
    ASSERT_TRUE(journal_->insert(make_run(run_id), t));
    if (to == queued) return;
    if (to == failed || to == cancelled) {
      ASSERT_TRUE(journal_->transition(run_id, to, "stop", t + 1));
      return;
    }
    ASSERT_TRUE(journal_->transition(run_id, running, "", t + 1));
    if (to == running) return;
    ASSERT_TRUE(journal_->mark_spooled(run_id, make_spool(), t + 2));
    if (to == spooled) return;
    ASSERT_TRUE(journal_->transition(run_id, uploading, "", t + 3));
    if (to == uploading) return;
    ASSERT_TRUE(journal_->transition(run_id, completed, "", t + 4));
  }

  std::int64_t query_int(const std::string& sql) {
    std::int64_t value = -1;
    db_->with_connection([&](sqlite3* conn) {
      sqlite::Statement stmt(conn, sql);
      if (stmt.step()) value = stmt.column_int64(0);
    });
    return value;
  }
  void exec(const std::string& sql) {
    db_->transaction([&](sqlite3* conn) { sqlite::exec(conn, sql.c_str()); });
  }
  std::vector<std::string> ids(const std::vector<RunRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.run_id);
    return out;
  }
  std::string all_files() const {
    return slurp(db_path()) + slurp(db_path().string() + "-wal") +
           slurp(db_path().string() + "-shm");
  }

  std::unique_ptr<StateDb> db_;
  std::unique_ptr<RunJournal> journal_;
};

TEST_F(RunJournalTest, InsertAndGetRoundTripEveryField) {
  RunRecord run = make_run("run-1");
  run.spool = make_spool();  // stored if given, though normally set later
  run.encryption_enabled = false;
  ASSERT_TRUE(journal_->insert(run, 1000));

  const auto loaded = journal_->get("run-1");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, as_inserted(run, 1000));
  EXPECT_THAT(journal_->events("run-1"), ElementsAre(RunEvent{1000, queued, "scheduled by cron"}));

  // And the minimal record: empty strings, no DEK, no spool.
  RunRecord bare;
  bare.run_id = "bare";
  ASSERT_TRUE(journal_->insert(bare, 5));
  EXPECT_EQ(journal_->get("bare"), as_inserted(bare, 5));
  EXPECT_FALSE(journal_->get("missing").has_value());
}

TEST_F(RunJournalTest, InsertInTerminalStateSetsFinished) {
  RunRecord refused = make_run("refused");
  refused.state = failed;
  refused.reason = "target unknown";
  ASSERT_TRUE(journal_->insert(refused, 77));
  const auto loaded = journal_->get("refused");
  EXPECT_EQ(loaded->finished_ms, 77u);
  EXPECT_EQ(loaded->started_ms, 0u);
  EXPECT_FALSE(journal_->transition("refused", running, "", 78));
}

TEST_F(RunJournalTest, DuplicateInsertReturnsFalseAndChangesNothing) {
  ASSERT_TRUE(journal_->insert(make_run("run-1"), 1000));
  const auto before = journal_->get("run-1");
  RunRecord other = make_run("run-1");
  other.job_id = "another-job";
  other.creds.presigned_put_url = "https://elsewhere.example.com/";
  other.state = failed;
  EXPECT_FALSE(journal_->insert(other, 2000));
  EXPECT_EQ(journal_->get("run-1"), before);
  EXPECT_EQ(journal_->events("run-1").size(), 1u);
  EXPECT_EQ(query_int("SELECT count(*) FROM runs"), 1);
}

TEST_F(RunJournalTest, HappyPathSetsTimestampsAndEvents) {
  ASSERT_TRUE(journal_->insert(make_run("run-1"), 100));
  ASSERT_TRUE(journal_->transition("run-1", running, "worker 2", 200));
  ASSERT_TRUE(journal_->mark_spooled("run-1", make_spool(), 300));
  ASSERT_TRUE(journal_->transition("run-1", uploading, "", 400));
  ASSERT_TRUE(journal_->transition("run-1", completed, "uploaded", 500));

  RunRecord expected = as_inserted(make_run("run-1"), 100);
  expected.state = completed;
  expected.reason = "uploaded";
  expected.updated_ms = 500;
  expected.started_ms = 200;
  expected.finished_ms = 500;
  expected.spool = make_spool();
  EXPECT_EQ(journal_->get("run-1"), expected);
  EXPECT_THAT(journal_->events("run-1"),
              ElementsAre(RunEvent{100, queued, "scheduled by cron"},
                          RunEvent{200, running, "worker 2"}, RunEvent{300, spooled, ""},
                          RunEvent{400, uploading, ""}, RunEvent{500, completed, "uploaded"}));
}

TEST_F(RunJournalTest, UploadingBackToSpooledKeepsTheSpoolResult) {
  add_run_in("run-1", uploading, 100);
  ASSERT_TRUE(journal_->transition("run-1", spooled, "restart", 900));
  const auto loaded = journal_->get("run-1");
  EXPECT_EQ(loaded->state, spooled);
  EXPECT_EQ(loaded->spool, make_spool());
  EXPECT_EQ(loaded->started_ms, 101u);  // set once, on entering running
  EXPECT_EQ(loaded->finished_ms, 0u);
  EXPECT_EQ(loaded->reason, "restart");
  // mark_spooled() is for running only; transition() already did the move.
  EXPECT_FALSE(journal_->mark_spooled("run-1", SpoolResult{}, 901));
  EXPECT_EQ(journal_->get("run-1"), loaded);
}

TEST_F(RunJournalTest, FailAndCancelFromEveryLiveState) {
  std::uint64_t t = 1000;
  for (RunState from : {queued, running, spooled, uploading}) {
    for (RunState to : {failed, cancelled}) {
      const std::string id =
          std::string(run_state_name(from)) + "-" + std::string(run_state_name(to));
      add_run_in(id, from, t);
      ASSERT_TRUE(journal_->transition(id, to, "why", t + 50)) << id;
      const auto loaded = journal_->get(id);
      EXPECT_EQ(loaded->state, to);
      EXPECT_EQ(loaded->finished_ms, t + 50);
      EXPECT_EQ(loaded->reason, "why");
      EXPECT_EQ(journal_->events(id).back(), (RunEvent{t + 50, to, "why"}));
      t += 100;
    }
  }
}

TEST_F(RunJournalTest, DisallowedTransitionsChangeNothing) {
  struct Case {
    RunState from, to;
  };
  const std::vector<Case> cases = {{queued, spooled},   {queued, uploading},   {queued, completed},
                                   {queued, queued},    {running, completed},  {running, uploading},
                                   {running, running},  {spooled, completed},  {spooled, running},
                                   {spooled, queued},   {spooled, spooled},    {uploading, running},
                                   {uploading, queued}, {uploading, uploading}};
  std::vector<Case> all = cases;
  for (RunState terminal : {completed, failed, cancelled}) {
    for (RunState to : {queued, running, spooled, uploading, completed, failed, cancelled}) {
      all.push_back({terminal, to});
    }
  }
  std::uint64_t t = 1000;
  for (const Case& c : all) {
    const std::string id =
        std::string(run_state_name(c.from)) + "-to-" + std::string(run_state_name(c.to));
    add_run_in(id, c.from, t);
    const auto before = journal_->get(id);
    const auto events_before = journal_->events(id);
    EXPECT_FALSE(journal_->transition(id, c.to, "nope", t + 50)) << id;
    EXPECT_EQ(journal_->get(id), before) << id;
    EXPECT_EQ(journal_->events(id), events_before) << id;
    t += 100;
  }
  // mark_spooled from anything but running.
  for (const char* id : {"queued-to-queued", "spooled-to-spooled", "uploading-to-uploading",
                         "completed-to-queued", "failed-to-queued", "cancelled-to-queued"}) {
    const auto before = journal_->get(id);
    EXPECT_FALSE(journal_->mark_spooled(id, make_spool(), 99999)) << id;
    EXPECT_EQ(journal_->get(id), before) << id;
  }
}

TEST_F(RunJournalTest, UnknownRunIsFalseEverywhere) {
  EXPECT_FALSE(journal_->transition("ghost", running, "", 1));
  EXPECT_FALSE(journal_->mark_spooled("ghost", make_spool(), 1));
  EXPECT_FALSE(journal_->update_creds("ghost", UploadCreds{}, 1));
  EXPECT_TRUE(journal_->events("ghost").empty());
  EXPECT_EQ(query_int("SELECT count(*) FROM runs"), 0);
  EXPECT_EQ(query_int("SELECT count(*) FROM run_events"), 0);
}

TEST_F(RunJournalTest, UpdateCredsReplacesUrlAndKeepsDek) {
  add_run_in("run-1", spooled, 100);
  const UploadCreds fresh{"https://s3.example.com/new?X-Amz-Signature=0123", 9999, "new/key"};
  ASSERT_TRUE(journal_->update_creds("run-1", fresh, 700));
  const auto loaded = journal_->get("run-1");
  EXPECT_EQ(loaded->creds, fresh);
  EXPECT_EQ(loaded->encrypted_dek, make_run("run-1").encrypted_dek);
  EXPECT_EQ(loaded->updated_ms, 700u);
  EXPECT_EQ(loaded->state, spooled);
  EXPECT_FALSE(loaded->secrets_unreadable);
  EXPECT_EQ(journal_->events("run-1").size(), 3u);  // not a state change
}

TEST_F(RunJournalTest, UpdateCredsOnTerminalRunIsRefused) {
  add_run_in("done", completed, 100);
  add_run_in("failed", failed, 200);
  add_run_in("cancelled", cancelled, 300);
  for (const char* id : {"done", "failed", "cancelled"}) {
    const auto before = journal_->get(id);
    EXPECT_FALSE(journal_->update_creds(id, UploadCreds{"https://x/", 1, "k"}, 999)) << id;
    EXPECT_EQ(journal_->get(id), before) << id;
  }
}

TEST_F(RunJournalTest, SecretsAreNotInTheDatabaseFilesInClear) {
  const RunRecord run = make_run("run-1");
  ASSERT_TRUE(journal_->insert(run, 100));
  ASSERT_TRUE(journal_->update_creds("run-1", run.creds, 200));  // a second sealing
  const std::string dek(run.encrypted_dek.begin(), run.encrypted_dek.end());

  // With the writer open the rows sit in the WAL; the search must see them.
  std::string bytes = all_files();
  ASSERT_NE(bytes.find(run.creds.final_s3_key), std::string::npos);
  EXPECT_EQ(bytes.find(kSignature), std::string::npos);
  EXPECT_EQ(bytes.find("X-Amz-Expires"), std::string::npos);
  EXPECT_EQ(bytes.find(dek), std::string::npos);

  journal_.reset();
  db_.reset();  // checkpoints the WAL into the main file
  bytes = all_files();
  ASSERT_NE(bytes.find(run.creds.final_s3_key), std::string::npos);
  EXPECT_EQ(bytes.find(kSignature), std::string::npos);
  EXPECT_EQ(bytes.find(dek), std::string::npos);
}

TEST_F(RunJournalTest, OtherAgentKeyMakesSecretsUnreadableNotAnError) {
  add_run_in("run-1", spooled, 100);
  journal_.reset();
  db_.reset();
  db_ = StateDb::open(db_path());
  RunJournal rotated(*db_, kOtherKey);

  std::optional<RunRecord> loaded;
  ASSERT_NO_THROW(loaded = rotated.get("run-1"));
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->secrets_unreadable);
  EXPECT_TRUE(loaded->creds.presigned_put_url.empty());
  EXPECT_TRUE(loaded->encrypted_dek.empty());
  // Everything else is intact, so the caller can fail the run clearly.
  EXPECT_EQ(loaded->state, spooled);
  EXPECT_EQ(loaded->creds.final_s3_key, make_run("run-1").creds.final_s3_key);
  EXPECT_EQ(loaded->spool, make_spool());
  EXPECT_TRUE(rotated.in_states({spooled}).at(0).secrets_unreadable);
  EXPECT_TRUE(rotated.recent(5).at(0).secrets_unreadable);
  EXPECT_TRUE(rotated.transition("run-1", failed, "secrets unreadable", 900));
}

TEST_F(RunJournalTest, SealedBlobMovedToAnotherRowIsUnreadableThere) {
  ASSERT_TRUE(journal_->insert(make_run("run-a"), 100));
  ASSERT_TRUE(journal_->insert(make_run("run-b"), 200));
  exec(
      "UPDATE runs SET sealed_put_url = (SELECT sealed_put_url FROM runs WHERE run_id = 'run-a')"
      " WHERE run_id = 'run-b'");
  EXPECT_FALSE(journal_->get("run-a")->secrets_unreadable);
  const auto b = journal_->get("run-b");
  EXPECT_TRUE(b->secrets_unreadable);
  EXPECT_TRUE(b->creds.presigned_put_url.empty());
  EXPECT_TRUE(b->encrypted_dek.empty());

  // The DEK as well, and a swap between the two secret columns.
  ASSERT_TRUE(journal_->insert(make_run("run-c"), 300));
  exec(
      "UPDATE runs SET sealed_dek = (SELECT sealed_dek FROM runs WHERE run_id = 'run-a')"
      " WHERE run_id = 'run-c'");
  EXPECT_TRUE(journal_->get("run-c")->secrets_unreadable);
  ASSERT_TRUE(journal_->insert(make_run("run-d"), 400));
  exec(
      "UPDATE runs SET sealed_dek = sealed_put_url, sealed_put_url = sealed_dek"
      " WHERE run_id = 'run-d'");
  EXPECT_TRUE(journal_->get("run-d")->secrets_unreadable);
  // Damage: truncated.
  ASSERT_TRUE(journal_->insert(make_run("run-e"), 500));
  exec("UPDATE runs SET sealed_dek = X'0102' WHERE run_id = 'run-e'");
  EXPECT_TRUE(journal_->get("run-e")->secrets_unreadable);
}

TEST_F(RunJournalTest, InStatesIsOldestFirst) {
  add_run_in("late-queued", queued, 500);
  add_run_in("early-running", running, 100);
  add_run_in("done", completed, 50);
  add_run_in("mid-uploading", uploading, 300);
  add_run_in("tie-1", queued, 300);  // same created_ms: insertion order decides
  EXPECT_THAT(ids(journal_->in_states({queued, running, uploading})),
              ElementsAre("early-running", "mid-uploading", "tie-1", "late-queued"));
  EXPECT_THAT(ids(journal_->in_states({completed})), ElementsAre("done"));
  EXPECT_TRUE(journal_->in_states({}).empty());
  EXPECT_TRUE(journal_->in_states({cancelled}).empty());
  const auto one = journal_->in_states({running});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].creds, make_run("early-running").creds);  // secrets opened
}

TEST_F(RunJournalTest, RecentIsNewestFirstAndLimited) {
  add_run_in("a", completed, 100);
  add_run_in("b", queued, 300);
  add_run_in("c", failed, 200);
  add_run_in("d", queued, 300);
  EXPECT_THAT(ids(journal_->recent(10)), ElementsAre("d", "b", "c", "a"));
  EXPECT_THAT(ids(journal_->recent(2)), ElementsAre("d", "b"));
  EXPECT_TRUE(journal_->recent(0).empty());
}

TEST_F(RunJournalTest, PruneKeepsNewestTerminalAndAllLiveRuns) {
  add_run_in("old-running", running, 10);  // older than everything, never pruned
  add_run_in("t1", completed, 100);        // finishes at 104
  add_run_in("t2", failed, 200);           // 201
  add_run_in("t3", cancelled, 300);        // 301
  add_run_in("t4", completed, 400);        // 404
  add_run_in("t5", failed, 500);           // 501
  add_run_in("queued", queued, 20);

  // Only what finished before 301 is old enough.
  EXPECT_EQ(journal_->prune(301, 0), 2u);
  EXPECT_THAT(ids(journal_->recent(10)), ElementsAre("t5", "t4", "t3", "queued", "old-running"));
  EXPECT_EQ(query_int("SELECT count(*) FROM run_events WHERE run_id IN ('t1', 't2')"), 0);

  // Everything is old enough, but the newest two terminal runs stay.
  EXPECT_EQ(journal_->prune(1'000'000, 2), 1u);
  EXPECT_THAT(ids(journal_->recent(10)), ElementsAre("t5", "t4", "queued", "old-running"));
  EXPECT_FALSE(journal_->events("t4").empty());
  EXPECT_EQ(journal_->prune(1'000'000, 2), 0u);

  EXPECT_EQ(journal_->prune(1'000'000, 0), 2u);
  EXPECT_THAT(ids(journal_->recent(10)), ElementsAre("queued", "old-running"));
  EXPECT_EQ(query_int("SELECT count(*) FROM run_events WHERE run_id NOT IN "
                      "('queued', 'old-running')"),
            0);
}

TEST_F(RunJournalTest, ReadOnlyStateDbCanReadRuns) {
  add_run_in("run-1", spooled, 100);
  add_run_in("run-2", queued, 200);
  auto reader_db = StateDb::open(db_path(), StateDb::Mode::read_only);
  RunJournal reader(*reader_db, kAgentKey);
  EXPECT_EQ(reader.get("run-1"), journal_->get("run-1"));
  EXPECT_THAT(ids(reader.recent(10)), ElementsAre("run-2", "run-1"));
  EXPECT_THAT(ids(reader.in_states({spooled})), ElementsAre("run-1"));
  EXPECT_EQ(reader.events("run-1"), journal_->events("run-1"));
  EXPECT_THROW(reader.transition("run-2", running, "", 300), StateError);
  EXPECT_EQ(journal_->get("run-2")->state, queued);
}

TEST_F(RunJournalTest, StoredUnknownStateIsAStateError) {
  ASSERT_TRUE(journal_->insert(make_run("run-1"), 100));
  exec("UPDATE runs SET state = 'teleported'");
  EXPECT_THROW(journal_->get("run-1"), StateError);
  EXPECT_THROW(journal_->transition("run-1", failed, "", 200), StateError);
}

// A database written by an agent that only knew schema v1.
TEST_F(RunJournalTest, AgentRunFieldsRoundTrip) {
  RunRecord r = make_run("arun-00112233445566ff");
  r.origin = RunOrigin::agent;
  r.scheduled_for_ms = 1'700'000'000'000;
  r.catch_up = true;
  r.wrapped_dek = {0x01, 0x00, 0xff, 0x7f};
  r.dek_kms_id = "x25519-0123456789abcdef";
  r.attempt = 2;
  r.not_before_ms = 1'700'000'060'000;
  ASSERT_TRUE(journal_->insert(r, 1000));
  EXPECT_EQ(journal_->get(r.run_id), as_inserted(r, 1000));
  // Server runs default to the first attempt, no hold, origin server.
  ASSERT_TRUE(journal_->insert(make_run("run-server"), 1000));
  const auto server = journal_->get("run-server");
  EXPECT_EQ(server->origin, RunOrigin::server);
  EXPECT_EQ(server->attempt, 1u);
  EXPECT_EQ(server->not_before_ms, 0u);
  EXPECT_TRUE(server->wrapped_dek.empty());
}

TEST_F(RunJournalTest, WipeDekClearsOnlyTheRawDek) {
  RunRecord r = make_run("arun-1");
  r.origin = RunOrigin::agent;
  r.wrapped_dek = {9, 8, 7};
  ASSERT_TRUE(journal_->insert(r, 1000));
  ASSERT_TRUE(journal_->wipe_dek("arun-1"));
  const auto after = journal_->get("arun-1");
  EXPECT_FALSE(after->secrets_unreadable);
  EXPECT_TRUE(after->encrypted_dek.empty());
  EXPECT_EQ(after->wrapped_dek, r.wrapped_dek);
  EXPECT_EQ(after->creds, r.creds);
  EXPECT_FALSE(journal_->wipe_dek("nope"));
}

TEST_F(RunJournalTest, ScheduleRetryFromScratchClearsTheSpool) {
  add_run_in("dump-retry", running, 1000);
  ASSERT_TRUE(journal_->schedule_retry("dump-retry", queued, 2, 9000, "dump failed", 2000));
  auto r = journal_->get("dump-retry");
  EXPECT_EQ(r->state, queued);
  EXPECT_EQ(r->attempt, 2u);
  EXPECT_EQ(r->not_before_ms, 9000u);
  EXPECT_EQ(r->reason, "dump failed");
  EXPECT_FALSE(r->spool);
  EXPECT_EQ(journal_->events("dump-retry").back(), (RunEvent{2000, queued, "dump failed"}));
  // Then running again, as the retry starts.
  EXPECT_TRUE(journal_->transition("dump-retry", running, "", 9000));
}

TEST_F(RunJournalTest, ScheduleRetryOfTheUploadKeepsTheSpool) {
  add_run_in("upload-retry", uploading, 1000);
  ASSERT_TRUE(journal_->schedule_retry("upload-retry", spooled, 2, 9000, "HTTP 500", 2000));
  auto r = journal_->get("upload-retry");
  EXPECT_EQ(r->state, spooled);
  EXPECT_EQ(r->attempt, 2u);
  EXPECT_EQ(r->spool, make_spool());
  // spooled → spooled (a retry found its credentials gone and waits again) is allowed here.
  ASSERT_TRUE(journal_->schedule_retry("upload-retry", spooled, 3, 10000, "again", 2100));
  EXPECT_EQ(journal_->get("upload-retry")->attempt, 3u);
  // Not from queued (nothing ran), not into running, not out of a terminal state.
  add_run_in("q", queued, 3000);
  EXPECT_FALSE(journal_->schedule_retry("q", queued, 2, 0, "", 3001));
  EXPECT_FALSE(journal_->schedule_retry("upload-retry", running, 4, 0, "", 3001));
  add_run_in("done", completed, 4000);
  EXPECT_FALSE(journal_->schedule_retry("done", spooled, 2, 0, "", 4001));
  EXPECT_FALSE(journal_->schedule_retry("unknown", queued, 2, 0, "", 4001));
}

class RunJournalMigrationTest : public testing::TempDirTest {};

TEST_F(RunJournalMigrationTest, V1DatabaseMigratesAndKeepsItsData) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> conn(raw, &sqlite3_close);
    sqlite::exec(raw, "PRAGMA journal_mode=WAL");
    sqlite::exec(raw, std::string(detail::migrations()[0]).c_str());
    sqlite::exec(raw, "PRAGMA user_version=1");
    sqlite::exec(raw, "INSERT INTO outbox (cls, payload, created_ms) VALUES (0, X'0A0B', 42)");
    sqlite::exec(raw, "INSERT INTO config_snapshot VALUES (1, 7, X'00', X'01', X'02', 43)");
  }
  ASSERT_GE(detail::schema_version(), 2);

  auto db = StateDb::open(db_path());
  db->with_connection([](sqlite3* conn) {
    sqlite::Statement version(conn, "PRAGMA user_version");
    ASSERT_TRUE(version.step());
    EXPECT_EQ(version.column_int64(0), detail::schema_version());
    sqlite::Statement outbox(conn, "SELECT cls, payload, created_ms FROM outbox");
    ASSERT_TRUE(outbox.step());
    EXPECT_EQ(outbox.column_blob(1), std::string("\x0A\x0B", 2));
    EXPECT_EQ(outbox.column_int64(2), 42);
    sqlite::Statement config(conn, "SELECT version, saved_at_ms FROM config_snapshot");
    ASSERT_TRUE(config.step());
    EXPECT_EQ(config.column_int64(0), 7);
    EXPECT_EQ(config.column_int64(1), 43);
    // The trigger-maintained count survived too.
    sqlite::Statement count(conn, "SELECT n FROM outbox_class_count WHERE cls = 0");
    ASSERT_TRUE(count.step());
    EXPECT_EQ(count.column_int64(0), 1);
  });

  RunJournal journal(*db, kAgentKey);
  ASSERT_TRUE(journal.insert(make_run("after-migration"), 100));
  EXPECT_EQ(journal.get("after-migration")->creds, make_run("after-migration").creds);
}

}  // namespace
}  // namespace backupy::state
