#include "backupy/scheduling/agent_schedule.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backupy/scheduling/jitter.hpp"
#include "test_time.hpp"

namespace backupy::scheduling {
namespace {

using namespace test_time;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::string_view kAgent = "5d41402abc4b2a76b9719d911017c592";

// What ScheduleStore is in the agent: last fired instant per job.
struct MapMemory {
  std::map<std::string, sys_seconds> last;
  ScheduleMemory memory() {
    return {[this](const std::string& job) -> std::optional<sys_seconds> {
              const auto it = last.find(job);
              return it == last.end() ? std::nullopt : std::optional(it->second);
            },
            [this](const std::string& job, sys_seconds at) { last[job] = at; }};
  }
};

backup::v1::AgentConfig config_of(std::vector<std::pair<std::string, std::string>> jobs,
                                  unsigned jitter_sec = 600) {
  backup::v1::AgentConfig config;
  config.mutable_advanced()->set_schedule_jitter_sec(jitter_sec);
  for (const auto& [id, cron] : jobs) {
    auto* job = config.add_jobs();
    job->set_id(id);
    job->set_target_id("db");
    job->set_cron(cron);
  }
  return config;
}

milliseconds jitter_of(std::string_view job, unsigned window = 600) {
  return jitter_offset(kAgent, job, std::chrono::seconds{window});
}

class AgentScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The tests below need a jitter they can land on either side of.
    ASSERT_GT(jitter_of("nightly"), 2s);
    ASSERT_GT(jitter_of("hourly"), 2s);
  }
  AgentSchedule make() { return AgentSchedule(std::string(kAgent), memory_.memory()); }

  MapMemory memory_;
};

TEST_F(AgentScheduleTest, FiresAtTheInstantPlusJitterWithTheInstantAsScheduledFor) {
  const milliseconds jitter = jitter_of("nightly");
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}), nov(16, 1));
  EXPECT_TRUE(schedule.start(nov(16, 1)).empty());
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(16, 3) + jitter));

  EXPECT_TRUE(schedule.due(nov(16, 3)).empty());  // the instant itself: jitter not over
  EXPECT_TRUE(schedule.due(nov(16, 3) + jitter - 1ms).empty());
  EXPECT_EQ(schedule.due(nov(16, 3) + jitter), (std::vector<Fire>{{"nightly", nov(16, 3), false}}));
  EXPECT_EQ(memory_.last.at("nightly"), nov(16, 3));
  EXPECT_TRUE(schedule.due(nov(16, 3) + jitter + 5s).empty());
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(17, 3) + jitter));
}

TEST_F(AgentScheduleTest, NoJitterWindowFiresAtTheInstant) {
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}, 0), nov(16, 1));
  schedule.start(nov(16, 1));
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(16, 3)));
  EXPECT_EQ(schedule.due(nov(16, 3)), (std::vector<Fire>{{"nightly", nov(16, 3), false}}));
}

TEST_F(AgentScheduleTest, NothingIsDueBeforeStart) {
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}), nov(16, 1));
  EXPECT_TRUE(schedule.due(nov(16, 12)).empty());
  EXPECT_TRUE(memory_.last.empty());  // nothing remembered either
}

TEST_F(AgentScheduleTest, NeverFiresOneInstantTwiceAcrossReloads) {
  const milliseconds jitter = jitter_of("nightly");
  const auto config = config_of({{"nightly", "0 3 * * *"}});
  AgentSchedule schedule = make();
  schedule.set_config(config, nov(16, 1));
  schedule.start(nov(16, 1));
  // A reload just before the fire keeps the pending instant.
  schedule.set_config(config, nov(16, 3) + jitter - 1ms);
  EXPECT_EQ(schedule.due(nov(16, 3) + jitter).size(), 1u);

  std::vector<Fire> later;
  const auto collect = [&](TimePoint now) {
    for (Fire& fire : schedule.due(now)) later.push_back(std::move(fire));
  };
  // The same config again, a changed cron that still contains 03:00, a changed jitter
  // window (0: the instant is long due under it), and a clock set back: no second fire.
  schedule.set_config(config, nov(16, 3) + jitter + 1s);
  collect(nov(16, 3) + jitter + 2s);
  schedule.set_config(config_of({{"nightly", "0 3,23 * * *"}}), nov(16, 3, 1));
  collect(nov(16, 3, 2));
  schedule.set_config(config_of({{"nightly", "0 3,23 * * *"}}, 0), nov(16, 3, 3));
  collect(nov(16, 3, 4));
  collect(nov(16, 2));  // clock went back an hour
  collect(nov(16, 3) + jitter);
  EXPECT_TRUE(later.empty());
  // A restart (new schedule, same memory) does not catch the instant up either.
  AgentSchedule restarted = make();
  restarted.set_config(config, nov(16, 4));
  EXPECT_TRUE(restarted.start(nov(16, 4)).empty());
  // The schedule goes on: 23:00 of the changed cron (no jitter) fires.
  EXPECT_EQ(schedule.due(nov(16, 23)), (std::vector<Fire>{{"nightly", nov(16, 23), false}}));
}

TEST_F(AgentScheduleTest, ALowerJitterOnReloadDoesNotLoseADueInstant) {
  const milliseconds jitter = jitter_of("nightly");
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}), nov(16, 1));
  schedule.start(nov(16, 1));
  // Half-way through the jitter the window is turned off: 03:00 is now overdue.
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}, 0), nov(16, 3) + jitter / 2);
  EXPECT_EQ(schedule.due(nov(16, 3) + jitter / 2),
            (std::vector<Fire>{{"nightly", nov(16, 3), false}}));
}

TEST_F(AgentScheduleTest, ARemovedJobStops) {
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}, {"hourly", "@hourly"}}, 0),
                      nov(16, 1, 30));
  schedule.start(nov(16, 1, 30));
  EXPECT_EQ(schedule.size(), 2u);
  schedule.set_config(config_of({{"hourly", "@hourly"}}, 0), nov(16, 2, 30));
  EXPECT_EQ(schedule.size(), 1u);
  EXPECT_EQ(schedule.due(nov(16, 3)), (std::vector<Fire>{{"hourly", nov(16, 3), false}}));
  schedule.set_config(config_of({}, 0), nov(16, 3, 30));
  EXPECT_EQ(schedule.next_wake(), std::nullopt);
  EXPECT_TRUE(schedule.due(nov(17, 12)).empty());
}

TEST_F(AgentScheduleTest, ANewJobIsRememberedFromNow) {
  const milliseconds jitter = jitter_of("hourly");
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 23 * * *"}}), nov(16, 1));
  schedule.start(nov(16, 1));
  // Added at 10:30: 10:00 has passed and does not fire; 11:00 (+ jitter) will.
  schedule.set_config(config_of({{"nightly", "0 23 * * *"}, {"hourly", "@hourly"}}),
                      nov(16, 10, 30));
  ASSERT_TRUE(memory_.last.contains("hourly"));
  EXPECT_TRUE(schedule.due(nov(16, 10, 30)).empty());
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(16, 11) + jitter));

  // The agent dies at 10:45 and comes back at 12:30: it catches up 12:00, because it had
  // remembered the job at 10:30.
  AgentSchedule restarted = make();
  restarted.set_config(config_of({{"nightly", "0 23 * * *"}, {"hourly", "@hourly"}}),
                       nov(16, 12, 30));
  EXPECT_EQ(restarted.start(nov(16, 12, 30)), (std::vector<Fire>{{"hourly", nov(16, 12), true}}));
}

TEST_F(AgentScheduleTest, StartCatchesUpAMissedInstantOnce) {
  const milliseconds jitter = jitter_of("nightly");
  memory_.last["nightly"] = nov(16, 3);  // fired Monday 03:00, then the agent was down
  memory_.last["hourly"] = nov(17, 8);   // fired at 08:00, nothing missed by 08:30
  AgentSchedule schedule = make();
  schedule.set_config(
      config_of({{"nightly", "0 3 * * *"}, {"hourly", "@hourly"}, {"new", "@daily"}}),
      nov(17, 8, 30));
  const auto fires = schedule.start(nov(17, 8, 30));
  EXPECT_EQ(fires, (std::vector<Fire>{{"nightly", nov(17, 3), true}}));
  EXPECT_EQ(memory_.last.at("nightly"), nov(17, 3));
  EXPECT_EQ(memory_.last.at("hourly"), nov(17, 8));
  EXPECT_TRUE(memory_.last.contains("new"));  // never seen: remembered from now
  // Afterwards the regular schedule, not marked catch-up.
  EXPECT_THAT(schedule.due(nov(18, 3) + jitter),
              ::testing::Contains(Fire{"nightly", nov(18, 3), false}));
}

TEST_F(AgentScheduleTest, AnInstantStillInsideItsJitterIsNotACatchUp) {
  const milliseconds jitter = jitter_of("nightly");
  memory_.last["nightly"] = nov(16, 3);
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}), nov(17, 3));
  // Up again at 03:00 + jitter/2: Tuesday's instant has not come due yet, so it is a
  // regular fire at its jittered time (and Monday's fired already).
  EXPECT_TRUE(schedule.start(nov(17, 3) + jitter / 2).empty());
  EXPECT_EQ(schedule.due(nov(17, 3) + jitter), (std::vector<Fire>{{"nightly", nov(17, 3), false}}));
}

TEST_F(AgentScheduleTest, AClockJumpForwardsCoalescesIntoTheLatestInstant) {
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"hourly", "@hourly"}, {"every5s", "*/5 * * * * *"}}, 0),
                      nov(16, 9, 30));
  schedule.start(nov(16, 9, 30));
  EXPECT_EQ(schedule.due(nov(16, 10)).size(), 2u);
  // The VM was suspended from 10:00:01 to 15:30:02: one fire per job, the latest instants.
  EXPECT_EQ(
      schedule.due(nov(16, 15, 30, 2)),
      (std::vector<Fire>{{"hourly", nov(16, 15), false}, {"every5s", nov(16, 15, 30), false}}));
  EXPECT_EQ(memory_.last.at("hourly"), nov(16, 15));
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(16, 15, 30, 5)));
}

TEST_F(AgentScheduleTest, AClockSetBackAtStartWaitsForTheLastFire) {
  memory_.last["nightly"] = nov(17, 3);
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}, 0), nov(16, 12));
  EXPECT_TRUE(schedule.start(nov(16, 12)).empty());
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(18, 3)));
}

TEST_F(AgentScheduleTest, ResumeContinuesFromNowWithoutCatchUp) {
  AgentSchedule schedule = make();
  schedule.set_config(config_of({{"nightly", "0 3 * * *"}}, 0), nov(16, 1));
  schedule.start(nov(16, 1));
  EXPECT_EQ(schedule.due(nov(16, 3)).size(), 1u);
  // Paused (the server scheduled) from Monday to Wednesday 10:00.
  schedule.resume(nov(18, 10));
  EXPECT_TRUE(schedule.due(nov(18, 10)).empty());
  EXPECT_EQ(memory_.last.at("nightly"), nov(18, 10));  // a restart will not catch those up
  EXPECT_EQ(schedule.next_wake(), TimePoint(nov(19, 3)));
}

TEST_F(AgentScheduleTest, JobsWithoutAUsableCronAreIgnored) {
  auto config = config_of({{"good", "0 3 * * *"}, {"bad", "61 * * * *"}, {"manual", ""}}, 0);
  AgentSchedule schedule = make();
  schedule.set_config(config, nov(16, 1));
  schedule.start(nov(16, 1));
  EXPECT_EQ(schedule.size(), 1u);
  EXPECT_EQ(schedule.due(nov(16, 3)), (std::vector<Fire>{{"good", nov(16, 3), false}}));
  EXPECT_FALSE(memory_.last.contains("bad"));
  EXPECT_FALSE(memory_.last.contains("manual"));
}

}  // namespace
}  // namespace backupy::scheduling
