// The durable outbox against the real control plane: order, depth, restarts.
#include <gtest/gtest.h>

#include <set>

#include "backup/v1/agent.pb.h"
#include "backupy/state/outbox.hpp"
#include "backupy/state/state_db.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

// Leaves `count` results in the agent's outbox, as a previous run would have.
void prefill_outbox(const std::filesystem::path& state_dir, int count) {
  std::filesystem::create_directories(state_dir);
  auto db = state::StateDb::open(state_dir / "state.db");
  state::Outbox outbox(*db);
  for (int i = 1; i <= count; ++i) {
    backup::v1::Envelope envelope;
    envelope.set_ts_ms(1);
    auto* update = envelope.mutable_job_update();
    update->set_job_id("nightly");
    update->set_run_id("run-" + std::to_string(i));
    update->set_status(backup::v1::FAILED);
    update->set_error_message("synthetic result " + std::to_string(i));
    outbox.append(state::OutboxClass::terminal, envelope.SerializeAsString());
  }
}

std::uint64_t outbox_depth(const Agent& agent) {
  const auto result = agent.command({"dump-state"});
  if (result.exit_code != 0) return ~0ull;
  return Json::parse(result.out)["outbox"]["depth"].get<std::uint64_t>();
}

bool wait_for_depth(const Agent& agent, std::uint64_t depth, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (outbox_depth(agent) == depth) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

LinePredicate result_with_seq(std::uint64_t seq) {
  return [seq](const Json& line) {
    return line.value("event", "") == "result" && line.value("outbox_seq", std::uint64_t{0}) == seq;
  };
}

// The prefilled entries as the control plane logs them (the agent's own log lines may travel
// as LogEvents beside them).
LinePredicate prefilled_result() {
  return [](const Json& line) {
    return line.value("event", "") == "result" && line.value("type", "") == "job_update";
  };
}

class OutboxReplayTest : public ::testing::Test {
 protected:
  Workspace ws_;
};

TEST_F(OutboxReplayTest, TenThousandEntriesArriveInOrderAndLeaveOnAck) {
  constexpr int kEntries = 10000;
  ControlPlane cp(ws_, {.heartbeat_interval_sec = 30});
  Agent agent(ws_, {.server_url = cp.url()});
  prefill_outbox(agent.state_dir(), kEntries);
  agent.start();

  const auto registered = cp.log().wait_for(event_is("register"), 20s);
  ASSERT_TRUE(registered) << agent.log().dump_tail();
  const auto begin = std::chrono::steady_clock::now();
  ASSERT_TRUE(cp.log().wait_for(result_with_seq(kEntries), 120s)) << cp.log().dump_tail();
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - begin)
                              .count();
  RecordProperty("replay_10000_ms", static_cast<int>(elapsed_ms));

  const auto results = cp.log().all(prefilled_result());
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kEntries));
  for (int i = 0; i < kEntries; ++i) {
    ASSERT_EQ(results[i].value("outbox_seq", 0), i + 1) << "out of order at " << i;
  }
  EXPECT_EQ(results.back().value("run_id", ""), "run-10000");
  EXPECT_TRUE(wait_for_depth(agent, 0, 20s)) << "acknowledged entries must leave the outbox";
}

TEST_F(OutboxReplayTest, V1ServerWithoutAcksDrainsTheOutboxOnWrite) {
  ControlPlane cp(ws_, {.heartbeat_interval_sec = 30, .delivery_ack = false});
  Agent agent(ws_, {.server_url = cp.url()});
  prefill_outbox(agent.state_dir(), 500);
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(result_with_seq(500), 60s)) << cp.log().dump_tail();
  EXPECT_EQ(cp.log().count(event_is("delivery_ack_sent")), 0u);
  EXPECT_TRUE(wait_for_depth(agent, 0, 20s));
}

TEST_F(OutboxReplayTest, AgentCrashDuringReplayLosesNothing) {
  constexpr int kEntries = 3000;
  ControlPlane cp(ws_, {.heartbeat_interval_sec = 30});
  Agent agent(ws_, {.server_url = cp.url()});
  prefill_outbox(agent.state_dir(), kEntries);
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(result_with_seq(200), 60s)) << cp.log().dump_tail();
  agent.process().kill_and_wait();  // SIGKILL mid-stream
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(result_with_seq(kEntries), 60s)) << cp.log().dump_tail();
  std::set<std::uint64_t> seen;
  for (const auto& line : cp.log().all(prefilled_result())) {
    seen.insert(line.value("outbox_seq", std::uint64_t{0}));
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kEntries))
      << "every entry delivered at least once";
  EXPECT_TRUE(wait_for_depth(agent, 0, 20s));
}

}  // namespace
}  // namespace backupy::testing
