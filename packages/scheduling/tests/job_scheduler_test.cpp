#include "backupy/scheduling/job_scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_time.hpp"

namespace backupy::scheduling {
namespace {

using namespace test_time;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::string_view kAgent = "5d41402abc4b2a76b9719d911017c592";

struct MapMemory {
  std::map<std::string, sys_seconds> last;
  bool fail_writes = false;
  ScheduleMemory memory() {
    return {[this](const std::string& job) -> std::optional<sys_seconds> {
              const auto it = last.find(job);
              return it == last.end() ? std::nullopt : std::optional(it->second);
            },
            [this](const std::string& job, sys_seconds at) {
              if (fail_writes) throw std::runtime_error("disk I/O error");
              last[job] = at;
            }};
  }
};

std::shared_ptr<const backup::v1::AgentConfig> config_of(const std::string& job_id,
                                                         const std::string& cron) {
  auto config = std::make_shared<backup::v1::AgentConfig>();
  auto* job = config->add_jobs();
  job->set_id(job_id);
  job->set_target_id("db");
  job->set_cron(cron);
  return config;
}

class JobSchedulerTest : public ::testing::Test {
 protected:
  // Runs the io_context until pred holds or the deadline passes; returns pred().
  bool run_until(const std::function<bool()>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds{50});
    }
    return pred();
  }

  // A second, enabled scheduler on the same io_context: its fires prove that time (and the
  // timers) went by, so a test of "never fires" waits for evidence instead of sleeping.
  void start_witness() {
    witness_ = std::make_unique<JobScheduler>(io_, std::string(kAgent), witness_memory_.memory(),
                                              [this](const Fire&) { ++witness_fires_; });
    witness_->set_config(config_of("witness", "*/1 * * * * *"));
    witness_->set_enabled(true);
  }
  bool witness_fired_more(int n) {
    const int target = witness_fires_ + n;
    return run_until([&] { return witness_fires_ >= target; });
  }

  boost::asio::io_context io_;
  MapMemory memory_;
  std::vector<Fire> fires_;
  MapMemory witness_memory_;
  int witness_fires_ = 0;
  std::unique_ptr<JobScheduler> witness_;
};

TEST_F(JobSchedulerTest, ASecondsLevelCronFiresThroughTheTimer) {
  JobScheduler scheduler(io_, std::string(kAgent), memory_.memory(),
                         [this](const Fire& fire) { fires_.push_back(fire); });
  scheduler.set_config(config_of("every-second", "*/1 * * * * *"));
  const auto enabled_at =
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  scheduler.set_enabled(true);
  EXPECT_TRUE(scheduler.enabled());
  ASSERT_TRUE(run_until([&] { return fires_.size() >= 2; }, std::chrono::seconds{4}));
  EXPECT_EQ(fires_[0].job_id, "every-second");
  EXPECT_FALSE(fires_[0].catch_up);
  EXPECT_GT(fires_[0].scheduled_for, enabled_at);  // a new job: nothing before now
  EXPECT_LT(fires_[0].scheduled_for, fires_[1].scheduled_for);
  EXPECT_EQ(memory_.last.at("every-second"), fires_.back().scheduled_for);
}

TEST_F(JobSchedulerTest, DisabledNeverFires) {
  JobScheduler scheduler(io_, std::string(kAgent), memory_.memory(),
                         [this](const Fire& fire) { fires_.push_back(fire); });
  scheduler.set_config(config_of("every-second", "*/1 * * * * *"));
  EXPECT_FALSE(scheduler.enabled());
  start_witness();
  ASSERT_TRUE(witness_fired_more(2));
  EXPECT_TRUE(fires_.empty());
  EXPECT_TRUE(memory_.last.empty());
}

TEST_F(JobSchedulerTest, DisablingCancelsTheTimer) {
  JobScheduler scheduler(io_, std::string(kAgent), memory_.memory(),
                         [this](const Fire& fire) { fires_.push_back(fire); });
  scheduler.set_config(config_of("every-second", "*/1 * * * * *"));
  scheduler.set_enabled(true);
  ASSERT_TRUE(run_until([&] { return !fires_.empty(); }, std::chrono::seconds{4}));
  scheduler.set_enabled(false);
  EXPECT_FALSE(scheduler.enabled());
  const std::size_t fired = fires_.size();
  start_witness();
  ASSERT_TRUE(witness_fired_more(2));
  EXPECT_EQ(fires_.size(), fired);
}

TEST_F(JobSchedulerTest, EnablingRunsTheCatchUpFromTheInjectedClock) {
  memory_.last["nightly"] = nov(16, 3);  // then the agent was down until Tuesday 09:00
  JobScheduler scheduler(
      io_, std::string(kAgent), memory_.memory(),
      [this](const Fire& fire) { fires_.push_back(fire); }, [] { return TimePoint(nov(17, 9)); });
  scheduler.set_config(config_of("nightly", "0 3 * * *"));
  scheduler.set_enabled(true);
  EXPECT_TRUE(fires_.empty());  // delivered from the io_context, not inside set_enabled()
  ASSERT_TRUE(run_until([&] { return !fires_.empty(); }));
  EXPECT_EQ(fires_, (std::vector<Fire>{{"nightly", nov(17, 3), true}}));
  EXPECT_EQ(memory_.last.at("nightly"), nov(17, 3));

  // Off and on again in the same process: no second catch-up pass.
  scheduler.set_enabled(false);
  memory_.last["nightly"] = nov(15, 3);
  scheduler.set_enabled(true);
  start_witness();
  ASSERT_TRUE(witness_fired_more(1));
  EXPECT_EQ(fires_.size(), 1u);
}

TEST_F(JobSchedulerTest, EnablingBeforeTheFirstConfigCatchesUpWhenItArrives) {
  memory_.last["nightly"] = nov(16, 3);
  JobScheduler scheduler(
      io_, std::string(kAgent), memory_.memory(),
      [this](const Fire& fire) { fires_.push_back(fire); }, [] { return TimePoint(nov(17, 9)); });
  scheduler.set_enabled(true);  // the persisted mode, before the stored config is loaded
  scheduler.set_config(config_of("nightly", "0 3 * * *"));
  ASSERT_TRUE(run_until([&] { return !fires_.empty(); }));
  EXPECT_EQ(fires_, (std::vector<Fire>{{"nightly", nov(17, 3), true}}));
  // A later config does not run the catch-up pass again.
  memory_.last["nightly"] = nov(15, 3);
  scheduler.set_config(config_of("nightly", "0 3 * * *"));
  start_witness();
  ASSERT_TRUE(witness_fired_more(1));
  EXPECT_EQ(fires_.size(), 1u);
}

TEST_F(JobSchedulerTest, ReloadsNeverFireAnInstantTwiceNorStarveTheTimer) {
  JobScheduler scheduler(io_, std::string(kAgent), memory_.memory(),
                         [this](const Fire& fire) { fires_.push_back(fire); });
  const auto config = config_of("every-second", "*/1 * * * * *");
  const auto same_instants = config_of("every-second", "* * * * * *");  // a changed job
  scheduler.set_config(config);
  scheduler.set_enabled(true);
  // A reload on every turn of the loop (far more often than any real config push), the
  // cron text flipping after each fire: the fires keep coming, each instant once.
  ASSERT_TRUE(run_until(
      [&] {
        scheduler.set_config(fires_.size() % 2 ? same_instants : config);
        return fires_.size() >= 3;
      },
      std::chrono::seconds{5}));
  for (std::size_t i = 1; i < fires_.size(); ++i) {
    EXPECT_LT(fires_[i - 1].scheduled_for, fires_[i].scheduled_for);
  }
}

TEST_F(JobSchedulerTest, FailuresDoNotStopTheSchedule) {
  memory_.fail_writes = true;  // the state database is broken
  int calls = 0;
  JobScheduler scheduler(io_, std::string(kAgent), memory_.memory(), [&](const Fire& fire) {
    fires_.push_back(fire);
    if (++calls == 1) throw std::runtime_error("the run manager refused");
  });
  scheduler.set_config(config_of("every-second", "*/1 * * * * *"));
  scheduler.set_enabled(true);
  ASSERT_TRUE(run_until([&] { return fires_.size() >= 2; }, std::chrono::seconds{4}));
  EXPECT_LT(fires_[0].scheduled_for, fires_[1].scheduled_for);
}

TEST_F(JobSchedulerTest, HandlersAfterDestructionDoNothing) {
  memory_.last["nightly"] = nov(16, 3);
  {
    JobScheduler scheduler(
        io_, std::string(kAgent), memory_.memory(),
        [this](const Fire& fire) { fires_.push_back(fire); }, [] { return TimePoint(nov(17, 9)); });
    scheduler.set_config(config_of("nightly", "0 3 * * *"));
    scheduler.set_enabled(true);  // posts the catch-up and arms the timer
  }
  io_.run();  // the posted catch-up and the cancelled wait run against a gone scheduler
  EXPECT_TRUE(fires_.empty());
}

}  // namespace
}  // namespace backupy::scheduling
