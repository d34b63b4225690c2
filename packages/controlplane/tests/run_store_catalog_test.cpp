// RunStore over a Catalog: every change survives a reopen, results land exactly once across
// restarts, and a change the catalog refuses does not show in memory.
#include <gtest/gtest.h>

#include <map>

#include "backupy/sqlite/database.hpp"
#include "backupy/sqlite/error.hpp"
#include "catalog.hpp"
#include "run_store.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

const std::string kMasterKey(64, 'm');

backup::v1::BackupCompleted completed(const std::string& run_id) {
  backup::v1::BackupCompleted message;
  message.set_job_id("nightly");
  message.set_run_id(run_id);
  message.set_size_bytes(1234);
  message.set_sha256(std::string(64, 'e'));
  message.set_compression("zstd");
  return message;
}

using testing::job_update;

class RunStoreCatalogTest : public ::testing::Test {
 protected:
  // A "process": a catalog and the store on it.
  struct Process {
    std::unique_ptr<Catalog> catalog;
    RunStore runs;
  };
  Process start() const {
    Process process;
    process.catalog = Catalog::open(dir_.path() / "catalog.db", kMasterKey, log_);
    process.runs = RunStore(process.catalog.get());
    return process;
  }

  testing::TempDir dir_;
  core::Logger log_{"control-plane"};
};

// An adopted run keeps the agent's id, trigger, catch-up and cron instant across a restart; its
// DEK is unknown until set_dek() and then survives too.
TEST_F(RunStoreCatalogTest, AdoptedRunsAndTheirLateKeysSurviveARestart) {
  const std::string id = "arun-00112233aabbccdd";
  std::array<std::uint8_t, RunKey::kSize> dek{};
  dek.fill(0x5a);
  {
    Process p = start();
    RunRecord& run = p.runs.adopt(id, "nightly", "agent-1", true, 1'700'000'000'000);
    EXPECT_EQ(run.s3_key, "agents/agent-1/nightly/" + id + ".bkpy");
    EXPECT_FALSE(run.dek_known);
    EXPECT_THROW(p.runs.adopt(id, "nightly", "agent-1", false, 0), std::logic_error);
  }
  {
    Process p = start();
    RunRecord* run = p.runs.find(id);
    ASSERT_NE(run, nullptr);
    EXPECT_EQ(run->trigger, RunTrigger::agent);
    EXPECT_TRUE(run->catch_up);
    EXPECT_EQ(run->scheduled_for_ms, 1'700'000'000'000u);
    EXPECT_FALSE(run->dek_known);
    EXPECT_EQ(run->status, RunStatus::queued);
    p.runs.set_dek(*run, dek, "x25519-0011223344556677");
    p.runs.mark_sent(*run, 7000);
  }
  Process p = start();
  const RunRecord* run = p.runs.find(id);
  ASSERT_NE(run, nullptr);
  EXPECT_TRUE(run->dek_known);
  EXPECT_EQ(run->dek_kms_id, "x25519-0011223344556677");
  EXPECT_TRUE(std::equal(dek.begin(), dek.end(), run->dek.bytes().begin()));
  EXPECT_EQ(run->sent_ms, 7000u);
  EXPECT_EQ(to_string(run->trigger), "agent");
}

// The negotiated scheduling mode is remembered per agent.
TEST_F(RunStoreCatalogTest, AgentCronModeSurvivesARestart) {
  {
    Process p = start();
    CatalogAgent agent;
    agent.agent_id = "agent-1";
    agent.session_id = "s1";
    agent.connected_since_ms = 1000;
    p.catalog->record_register(agent, "127.0.0.1");
    p.catalog->record_agent_cron("agent-1", true);
  }
  Process p = start();
  std::map<std::string, bool> modes;
  p.catalog->load_agents(
      [&](const CatalogAgent& agent) { modes[agent.agent_id] = agent.agent_cron; });
  EXPECT_EQ(modes, (std::map<std::string, bool>{{"agent-1", true}}));
  p.catalog->record_agent_cron("agent-1", false);
  modes.clear();
  p.catalog->load_agents(
      [&](const CatalogAgent& agent) { modes[agent.agent_id] = agent.agent_cron; });
  EXPECT_EQ(modes, (std::map<std::string, bool>{{"agent-1", false}}));
}

TEST_F(RunStoreCatalogTest, RunsSurviveARestartWithTheirKeysAndOrder) {
  std::string first_id;
  std::string second_id;
  std::array<std::uint8_t, RunKey::kSize> dek{};
  {
    Process p = start();
    RunRecord& first = p.runs.create("nightly", "agent-1");
    RunRecord& second = p.runs.create("hourly", "agent-1", RunTrigger::scheduled);
    first_id = first.run_id;
    second_id = second.run_id;
    std::copy(first.dek.bytes().begin(), first.dek.bytes().end(), dek.begin());
    p.runs.mark_sent(first, 5000);
    p.runs.remember_idempotency_key("key-1", first_id);
    ASSERT_NE(p.runs.apply("agent-1", job_update(first_id, backup::v1::RUNNING)), nullptr);
    p.runs.fail(second, "agent offline", 6000);
  }
  Process p = start();
  ASSERT_EQ(p.runs.size(), 2u);
  const RunRecord* first = p.runs.find(first_id);
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(std::equal(dek.begin(), dek.end(), first->dek.bytes().begin()));
  EXPECT_EQ(first->status, RunStatus::running);
  EXPECT_EQ(first->sent_ms, 5000u);
  EXPECT_EQ(first->current_step, "dumping");
  EXPECT_EQ(first->updates, 1u);
  EXPECT_EQ(p.runs.find_by_idempotency_key("key-1"), first);
  EXPECT_EQ(p.runs.active_run("nightly"), first);
  const RunRecord* second = p.runs.find(second_id);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->trigger, RunTrigger::scheduled);
  EXPECT_EQ(second->status, RunStatus::failed);
  EXPECT_EQ(second->error, "agent offline");
  EXPECT_EQ(second->finished_ms, 6000u);

  // The sequence goes on where it stopped: newest first still means newest.
  RunRecord& third = p.runs.create("nightly", "agent-1");
  EXPECT_EQ(third.sequence, 3u);
  const std::vector<const RunRecord*> listed = p.runs.list({});
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0], &third);
  EXPECT_EQ(listed[2], first);
}

TEST_F(RunStoreCatalogTest, ACompletionLandsExactlyOnceAcrossRestarts) {
  std::string run_id;
  {
    Process p = start();
    RunRecord& run = p.runs.create("nightly", "agent-1");
    run_id = run.run_id;
    p.runs.mark_sent(run, 1);
    ASSERT_NE(p.runs.apply("agent-1", job_update(run_id, backup::v1::RUNNING)), nullptr);
    ASSERT_NE(p.runs.apply("agent-1", completed(run_id)), nullptr);
    p.runs.confirm_object(run, "", 2);  // the server saw the object
  }
  // The agent replays its outbox to the restarted server: nothing of it applies again.
  Process p = start();
  EXPECT_EQ(p.runs.apply("agent-1", job_update(run_id, backup::v1::RUNNING)), nullptr);
  EXPECT_EQ(p.runs.apply("agent-1", completed(run_id)), nullptr);
  EXPECT_EQ(p.runs.apply("agent-1", job_update(run_id, backup::v1::FAILED)), nullptr);
  const RunRecord* run = p.runs.find(run_id);
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->status, RunStatus::success);
  EXPECT_EQ(run->size_bytes, 1234u);
  EXPECT_EQ(run->updates, 2u);
  const std::vector<CatalogJobUpdate> rows = p.catalog->job_updates(run_id);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].kind, "job_update");
  EXPECT_EQ(rows[0].status, "running");
  EXPECT_EQ(rows[1].kind, "backup_completed");
  EXPECT_EQ(rows[1].status, "running");  // until the object check
  EXPECT_EQ(rows[2].kind, "object_check");
  EXPECT_EQ(rows[2].status, "success");
}

TEST_F(RunStoreCatalogTest, EraseForgetsTheRunForGood) {
  std::string run_id;
  {
    Process p = start();
    RunRecord& run = p.runs.create("nightly", "agent-1");
    run_id = run.run_id;
    p.runs.remember_idempotency_key("key-1", run_id);
    p.runs.erase(run_id);
  }
  Process p = start();
  EXPECT_EQ(p.runs.size(), 0u);
  EXPECT_EQ(p.runs.find(run_id), nullptr);
  EXPECT_EQ(p.runs.find_by_idempotency_key("key-1"), nullptr);
}

TEST_F(RunStoreCatalogTest, AChangeTheCatalogRefusesDoesNotShowInMemory) {
  Process p = start();
  RunRecord& run = p.runs.create("nightly", "agent-1");
  const std::string run_id = run.run_id;
  p.runs.mark_sent(run, 1);
  // A second connection installs a trigger that refuses every change of a run (as a full disk
  // or an I/O error would, but on demand).
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "catalog.db").c_str(), &raw), SQLITE_OK);
    const sqlite::Connection db(raw);
    sqlite::exec(db.get(),
                 "CREATE TRIGGER refuse BEFORE UPDATE ON runs "
                 "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  }
  EXPECT_THROW(p.runs.apply("agent-1", completed(run_id)), sqlite::Error);
  EXPECT_EQ(run.status, RunStatus::queued);
  EXPECT_FALSE(run.completed);
  EXPECT_EQ(run.updates, 0u);
  EXPECT_THROW(p.runs.fail(run, "offline", 2), sqlite::Error);
  EXPECT_EQ(run.status, RunStatus::queued);
  EXPECT_TRUE(run.error.empty());
  EXPECT_TRUE(p.catalog->job_updates(run_id).empty());
}

}  // namespace
}  // namespace backupy::controlplane::detail
