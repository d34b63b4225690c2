// Agent-side scheduling end to end (real control plane, real agent, the embedded object store,
// a SQLite target): with agent_cron.v1 negotiated the agent fires its own seconds-level cron,
// wraps each run's key to the control plane's X25519 key and asks for upload credentials; a
// fire while the control plane is down is dumped on time and uploaded once it is back — also
// when the agent itself restarted in between; and against a server without the capability
// (v1 mode) the agent never schedules on its own.
#include <gtest/gtest.h>

#include <set>

#include "backupy/core/time.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "agent-scheduling-admin-token-77c2";

// Now as "2026-11-22T16:16:03.037Z", the control plane's format.
std::string iso_now() {
  return core::iso8601_utc(core::now_ms());
}

bool is_agent_run_id(const std::string& run_id) {
  return run_id.rfind("arun-", 0) == 0;
}

// An agent log line about an agent-made run not in `known`.
LinePredicate new_agent_run_line(std::string msg, std::set<std::string> known) {
  return [msg, known](const Json& line) {
    const std::string run_id = line.value("run_id", "");
    return line.value("msg", "") == msg && is_agent_run_id(run_id) && !known.contains(run_id);
  };
}

class AgentSchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 2000); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  ControlPlaneOptions options(const std::string& cron, bool agent_cron = true) const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_type = "local";
    o.agent_config_yaml = orders_agent_config(database(), cron);
    o.agent_cron = agent_cron;
    return o;
  }

  // The runs of job "orders" the control plane lists, newest first.
  static Json listed_runs(const ControlPlane& cp) {
    const ApiReply reply = cp.api("GET", "/v1/runs?job=orders&limit=200", kAdminToken);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().value("runs", Json::array());
  }

  // Polls the run list until a run matches pred; the run, or null after timeout.
  static Json wait_for_listed_run(const ControlPlane& cp,
                                  const std::function<bool(const Json&)>& pred,
                                  std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const Json& run : listed_runs(cp)) {
        if (pred(run)) return run;
      }
      std::this_thread::sleep_for(200ms);
    }
    return nullptr;
  }

  // Downloads and decrypts the run's object (token from the control plane, backupy-decrypt)
  // and compares the restored database with the source.
  void expect_restorable(const ControlPlane& cp, const std::string& run_id) {
    const std::filesystem::path blob = ws_.dir() / (run_id + ".bkpy");
    const std::filesystem::path restored = ws_.dir() / (run_id + ".db");
    cp.download_object(run_id, kAdminToken, blob);
    const CommandResult decrypt = cp.decrypt_object(run_id, kAdminToken, blob, restored);
    ASSERT_EQ(decrypt.exit_code, 0) << decrypt.err;
    EXPECT_EQ(orders_rows(restored), orders_rows(database()));
    EXPECT_EQ(orders_rows(restored), "2000/order 0/order 999");
  }

  Workspace ws_;
};

TEST_F(AgentSchedulingTest, TheAgentSchedulesItsOwnJobsAndTheServerStops) {
  ControlPlane cp(ws_, options("*/3 * * * * *"));  // every 3 s
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_is("this agent schedules its jobs (agent_cron.v1)"), 20s))
      << agent.log().dump_tail();
  const std::size_t server_fires_at_register = cp.log().count(event_is("run_scheduled"));

  const Json run = wait_for_listed_run(
      cp,
      [](const Json& r) {
        return r.value("trigger", "") == "agent" && r.value("status", "") == "success";
      },
      40s);
  ASSERT_FALSE(run.is_null()) << listed_runs(cp).dump() << cp.log().dump_tail();
  const std::string run_id = run.value("run_id", "");
  EXPECT_TRUE(is_agent_run_id(run_id)) << run_id;
  expect_restorable(cp, run_id);

  // The raw key never crossed the wire: the agent reported only the wrapped key and its id.
  const auto completed = cp.log().wait_for(
      [&](const Json& line) {
        return line.value("type", "") == "backup_completed" && line.value("run_id", "") == run_id;
      },
      5s);
  ASSERT_TRUE(completed) << cp.log().dump_tail();
  EXPECT_EQ(completed->value("encrypted_dek_bytes", 0), 93);  // docs/formats/wrapped-dek-v1.md
  EXPECT_EQ(completed->value("dek_kms_id", "").rfind("x25519-", 0), 0u) << completed->dump();
  // Once the agent schedules, the server's own cron leaves it alone.
  EXPECT_EQ(cp.log().count(event_is("run_scheduled")), server_fires_at_register);
}

TEST_F(AgentSchedulingTest, AFireWhileTheServerIsDownIsDumpedOnTimeAndUploadedLater) {
  ControlPlane cp(ws_, options("*/4 * * * * *"));
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_is("this agent schedules its jobs (agent_cron.v1)"), 20s))
      << agent.log().dump_tail();

  // The control plane dies right after one of the agent's runs completed: the next fire (4 s
  // later) comes while it is down, and no run of the job is in flight at the kill (one that was
  // would hold the job, and the overlap rule would skip the fires after it).
  ASSERT_TRUE(agent.log().wait_for(msg_is("run completed"), 20s)) << agent.log().dump_tail();
  // Runs the agent made so far (the server may know them); the next one starts while it is down.
  std::set<std::string> before;
  for (const Json& line : agent.log().all(msg_contains("run"))) {
    if (is_agent_run_id(line.value("run_id", ""))) before.insert(line.value("run_id", ""));
  }
  const std::string killed_at = iso_now();
  cp.kill();
  const auto spooled = agent.log().wait_for(new_agent_run_line("run spooled", before), 20s);
  ASSERT_TRUE(spooled) << agent.log().dump_tail();
  const std::string run_id = spooled->value("run_id", "");

  // The agent restarts while its run waits for credentials: the blob and the run survive.
  agent.process().kill_and_wait();
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_is("starting backupy-agent"), 10s));

  cp.restart();
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 40s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << cp.log().dump_tail();
  EXPECT_EQ(run.value("trigger", ""), "agent");
  // Its cron instant came after the control plane went down (ISO-8601 UTC sorts as text), and
  // the agent had spooled it before the control plane came back (waited for above).
  EXPECT_GE(run.value("scheduled_for", ""), killed_at.substr(0, 19)) << run.dump();
  expect_restorable(cp, run_id);
}

TEST_F(AgentSchedulingTest, AgainstAV1ServerTheAgentNeverSchedules) {
  ControlPlane cp(ws_, options("*/2 * * * * *", /*agent_cron=*/false));
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_is("registered with control plane"), 20s));

  // Two server-scheduled runs succeed (the second proves time passed over several fires).
  std::set<std::string> succeeded;
  const auto deadline = std::chrono::steady_clock::now() + 40s;
  while (succeeded.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    for (const Json& run : listed_runs(cp)) {
      if (run.value("status", "") == "success") succeeded.insert(run.value("run_id", ""));
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_GE(succeeded.size(), 2u) << listed_runs(cp).dump();

  for (const Json& run : listed_runs(cp)) {
    EXPECT_EQ(run.value("trigger", ""), "scheduled") << run.dump();
    EXPECT_FALSE(is_agent_run_id(run.value("run_id", ""))) << run.dump();
  }
  EXPECT_FALSE(agent.log().wait_for(msg_is("this agent schedules its jobs (agent_cron.v1)"), 0ms));
  EXPECT_EQ(
      agent.log().count([](const Json& line) { return is_agent_run_id(line.value("run_id", "")); }),
      0u)
      << agent.log().dump_tail();
}

}  // namespace
}  // namespace backupy::testing
