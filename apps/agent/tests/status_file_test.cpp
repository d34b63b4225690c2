#include "status_file.hpp"

#include <gtest/gtest.h>

namespace backupy::agent {
namespace {

bool alive(int) {
  return true;
}
bool dead(int) {
  return false;
}

AgentStatus online_status(std::uint64_t updated_at) {
  AgentStatus status;
  status.pid = 4242;
  status.updated_at_ms = updated_at;
  status.config_version = 7;
  status.session.state = session::ConnectionState::online;
  status.session.session_id = "abc";
  return status;
}

TEST(StatusFileTest, OnlineAndFreshIsHealthy) {
  const auto verdict = evaluate_health(render_status_json(online_status(1000)), 2000, &alive);
  EXPECT_TRUE(verdict.healthy);
  EXPECT_EQ(verdict.reason, "healthy: online (session abc, config v7)");
}

TEST(StatusFileTest, DisconnectedIsStillHealthyButSaysWhy) {
  auto status = online_status(1000);
  status.session.state = session::ConnectionState::disconnected;
  status.session.last_error = "cannot connect to cp:443: Connection refused";
  const auto verdict = evaluate_health(render_status_json(status), 2000, &alive);
  EXPECT_TRUE(verdict.healthy);
  EXPECT_NE(verdict.reason.find("Connection refused"), std::string::npos);
}

TEST(StatusFileTest, StaleStatusMeansAStuckLoop) {
  const auto verdict =
      evaluate_health(render_status_json(online_status(1000)), 1000 + 31000, &alive);
  EXPECT_FALSE(verdict.healthy);
  EXPECT_EQ(verdict.reason, "agent control loop is stuck: status last refreshed 31s ago");
}

TEST(StatusFileTest, DeadProcessOrCleanShutdownIsUnhealthy) {
  EXPECT_EQ(evaluate_health(render_status_json(online_status(1000)), 2000, &dead).reason,
            "agent process 4242 is not running");
  auto stopped = online_status(1000);
  stopped.running = false;
  EXPECT_FALSE(evaluate_health(render_status_json(stopped), 2000, &alive).healthy);
}

TEST(StatusFileTest, GarbageIsUnhealthyNotACrash) {
  EXPECT_EQ(evaluate_health("{not json", 0, &alive).reason, "agent status file is unreadable");
  EXPECT_FALSE(evaluate_health("[]", 0, &alive).healthy);
}

}  // namespace
}  // namespace backupy::agent
