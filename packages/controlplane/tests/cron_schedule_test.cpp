// The server's cron schedule with a clock of the test's choosing: next fires across jobs,
// coalesced catch-up, reloads, and never the same instant twice.
#include "cron_schedule.hpp"

#include <gtest/gtest.h>

#include "backupy/core/time.hpp"
#include "fake_agents.hpp"

namespace backupy::controlplane::detail {
namespace {

using namespace std::chrono_literals;
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using Clock = std::chrono::system_clock;

// 2026-01-01 plus an offset.
constexpr sys_days kDay = sys_days(std::chrono::year(2026) / 1 / 1);
sys_seconds at(std::chrono::seconds offset) {
  return sys_seconds(kDay) + offset;
}
Clock::time_point clock_at(std::chrono::milliseconds offset) {
  return Clock::time_point(kDay) + offset;
}

// agent-1 with jobs {id, cron}.
ServerConfig config_with(std::initializer_list<std::pair<std::string, std::string>> jobs,
                         const std::string& agent_id = "agent-1") {
  ServerConfig config;
  AgentEntry agent = testing::agent_with_jobs(agent_id, {});
  for (const auto& [id, cron] : jobs) {
    backup::v1::BackupJobSpec* job = agent.config.add_jobs();
    job->set_id(id);
    job->set_cron(cron);
  }
  config.agents.push_back(std::move(agent));
  return config;
}

std::vector<std::string> ids_of(const std::vector<CronSchedule::Fire>& fires) {
  std::vector<std::string> ids;
  for (const auto& fire : fires) ids.push_back(fire.job_id);
  return ids;
}

TEST(CronScheduleTest, FindsTheEarliestFireOverAllJobsAndSkipsManualOnes) {
  CronSchedule schedule;
  ServerConfig config =
      config_with({{"hourly", "0 * * * *"}, {"quarter", "*/15 * * * *"}, {"manual", ""}});
  config.agents.push_back(testing::agent_with_jobs("agent-2", {}));
  backup::v1::BackupJobSpec* other = config.agents[1].config.add_jobs();
  other->set_id("seconds");
  other->set_cron("*/20 * * * * *");  // the 6-field form: every 20 s
  schedule.rebuild(config, clock_at(500ms));
  EXPECT_EQ(schedule.size(), 3u);
  EXPECT_EQ(schedule.next_fire("hourly"), at(1h));
  EXPECT_EQ(schedule.next_fire("quarter"), at(15min));
  EXPECT_EQ(schedule.next_fire("seconds"), at(20s));
  EXPECT_EQ(schedule.next_fire("manual"), std::nullopt);
  EXPECT_EQ(schedule.next_fire(), at(20s));

  EXPECT_TRUE(schedule.take_due(clock_at(19'999ms)).empty());
  const auto due = schedule.take_due(clock_at(20s));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].job_id, "seconds");
  EXPECT_EQ(due[0].at, at(20s));
  EXPECT_EQ(schedule.next_fire("seconds"), at(40s));
  EXPECT_TRUE(schedule.take_due(clock_at(20s)).empty()) << "an instant fires once";
}

TEST(CronScheduleTest, MissedInstantsFireOnceInFireTimeOrder) {
  CronSchedule schedule;
  schedule.rebuild(config_with({{"hourly", "0 * * * *"}, {"quarter", "*/15 * * * *"}}),
                   clock_at(0ms));
  // The server was busy (or the host asleep) for two hours.
  const auto due = schedule.take_due(clock_at(2h + 30s));
  EXPECT_EQ(ids_of(due), (std::vector<std::string>{"quarter", "hourly"}));
  EXPECT_EQ(due[0].at, at(15min));
  EXPECT_EQ(due[1].at, at(1h));
  EXPECT_EQ(schedule.next_fire("quarter"), at(2h + 15min));
  EXPECT_EQ(schedule.next_fire("hourly"), at(3h));
}

TEST(CronScheduleTest, ReloadsAddChangeAndRemoveJobs) {
  CronSchedule schedule;
  schedule.rebuild(config_with({{"a", "0 * * * *"}, {"b", "*/15 * * * *"}, {"c", "@daily"}}),
                   clock_at(0ms));
  schedule.rebuild(config_with({{"a", "30 * * * *"}, {"c", "@daily"}, {"d", "*/5 * * * *"}}),
                   clock_at(1min));
  EXPECT_EQ(schedule.size(), 3u);
  EXPECT_EQ(schedule.next_fire("a"), at(30min));     // changed
  EXPECT_EQ(schedule.next_fire("b"), std::nullopt);  // removed
  EXPECT_EQ(schedule.next_fire("c"), at(24h));       // unchanged
  EXPECT_EQ(schedule.next_fire("d"), at(5min));      // new
  // A job that becomes manual-only is no longer scheduled.
  schedule.rebuild(config_with({{"a", ""}}), clock_at(2min));
  EXPECT_EQ(schedule.size(), 0u);
  EXPECT_EQ(schedule.next_fire(), std::nullopt);
}

TEST(CronScheduleTest, AReloadNeitherLosesNorRepeatsAFire) {
  CronSchedule schedule;
  const ServerConfig config = config_with({{"job", "*/2 * * * * *"}});
  schedule.rebuild(config, clock_at(0ms));
  ASSERT_EQ(schedule.next_fire("job"), at(2s));
  // The fire at 2 s is due when a reload comes in before the timer ran: it still fires.
  schedule.rebuild(config, clock_at(2'100ms));
  EXPECT_EQ(ids_of(schedule.take_due(clock_at(2'100ms))), (std::vector<std::string>{"job"}));
  // Reloaded again (same or changed cron) in the same second: 2 s never fires again...
  schedule.rebuild(config, clock_at(2'200ms));
  EXPECT_EQ(schedule.next_fire("job"), at(4s));
  schedule.rebuild(config_with({{"job", "* * * * * *"}}), clock_at(2'300ms));
  EXPECT_EQ(schedule.next_fire("job"), at(3s));
  // ...not even when the wall clock stepped back meanwhile.
  schedule.rebuild(config_with({{"job", "*/2 * * * * *"}}), clock_at(-10s));
  EXPECT_EQ(schedule.next_fire("job"), at(4s));
}

TEST(CronScheduleTest, ZonedJobsFireAtTheirWallTimeAndAZoneChangeReschedules) {
  CronSchedule schedule;
  schedule.rebuild(
      config_with({{"berlin", "CRON_TZ=Europe/Berlin 0 3 * * *"}, {"utc", "0 3 * * *"}}),
      clock_at(0ms));
  EXPECT_EQ(schedule.next_fire("berlin"), at(2h));  // 03:00 CET
  EXPECT_EQ(schedule.next_fire("utc"), at(3h));
  // Only the zone changed: the text differs, so the job is recomputed.
  schedule.rebuild(
      config_with({{"berlin", "CRON_TZ=America/New_York 0 3 * * *"}, {"utc", "0 3 * * *"}}),
      clock_at(1min));
  EXPECT_EQ(schedule.next_fire("berlin"), at(8h));  // 03:00 EST
  EXPECT_EQ(ids_of(schedule.take_due(clock_at(8h))), (std::vector<std::string>{"utc", "berlin"}));
}

TEST(CronScheduleTest, AJobIdOfTwoAgentsIsScheduledOnce) {
  ServerConfig config = config_with({{"shared", "@hourly"}});
  ServerConfig second = config_with({{"shared", "@daily"}}, "agent-2");
  config.agents.push_back(second.agents[0]);
  CronSchedule schedule;
  schedule.rebuild(config, clock_at(0ms));
  EXPECT_EQ(schedule.size(), 1u);
  EXPECT_EQ(ids_of(schedule.take_due(clock_at(1h))), (std::vector<std::string>{"shared"}));
}

}  // namespace
}  // namespace backupy::controlplane::detail
