#include "backupy/health/health_check_scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include "listener.hpp"

namespace backupy::health {
namespace {

using namespace std::chrono_literals;

backup::v1::HealthCheckSpec tcp_spec(const std::string& id, std::uint16_t port) {
  backup::v1::HealthCheckSpec spec;
  spec.set_id(id);
  spec.set_type(backup::v1::TCP_CHECK);
  spec.set_target("127.0.0.1:" + std::to_string(port));
  spec.set_timeout_sec(2);
  return spec;
}

std::shared_ptr<const backup::v1::AgentConfig> config_of(
    std::vector<backup::v1::HealthCheckSpec> specs) {
  auto config = std::make_shared<backup::v1::AgentConfig>();
  for (auto& spec : specs) *config->add_health_checks() = spec;
  return config;
}

// Short, injectable intervals: interval_sec 0 -> 150 ms, first run at once.
SchedulerOptions fast() {
  SchedulerOptions options;
  options.default_interval = 150ms;
  options.initial_delay = [](const std::string&, std::chrono::milliseconds) { return 0ms; };
  return options;
}

struct Fixture : ::testing::Test {
  boost::asio::io_context io;
  std::vector<backup::v1::HealthCheckResult> results;
  // Runs the io_context until pred holds or the deadline passes.
  template <typename Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
      io.restart();
    }
    return pred();
  }
  std::size_t count(const std::string& id) const {
    return static_cast<std::size_t>(
        std::count_if(results.begin(), results.end(), [&](auto& r) { return r.check_id() == id; }));
  }
};

TEST_F(Fixture, RunsEachCheckPeriodically) {
  test::Listener up;
  auto down = test::closed_port();
  HealthCheckScheduler scheduler(io, fast(), [&](auto r) { results.push_back(std::move(r)); });
  scheduler.set_config(config_of({tcp_spec("up", up.port()), tcp_spec("down", down.port())}));
  ASSERT_TRUE(run_until([&] { return count("up") >= 3 && count("down") >= 3; }));
  for (const auto& r : results) {
    EXPECT_EQ(r.ok(), r.check_id() == "up") << r.check_id() << ": " << r.error();
  }
}

TEST_F(Fixture, FirstRunWaitsForTheInitialDelayThenTheInterval) {
  test::Listener up;
  SchedulerOptions options = fast();
  options.default_interval = 10s;
  std::chrono::milliseconds seen_interval{};
  options.initial_delay = [&](const std::string&, std::chrono::milliseconds interval) {
    seen_interval = interval;
    return 200ms;
  };
  HealthCheckScheduler scheduler(io, options, [&](auto r) { results.push_back(std::move(r)); });
  auto started = std::chrono::steady_clock::now();
  scheduler.set_config(config_of({tcp_spec("up", up.port())}));
  ASSERT_TRUE(run_until([&] { return count("up") == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_EQ(seen_interval, 10s);
  // The next run is an interval (10 s) away.
  run_until([] { return false; }, 300ms);
  EXPECT_EQ(count("up"), 1u);
}

TEST_F(Fixture, RunNowRunsAConfiguredCheckAndRefusesAnUnknownOne) {
  test::Listener up;
  SchedulerOptions options = fast();
  options.initial_delay = [](const std::string&, std::chrono::milliseconds) { return 1h; };
  HealthCheckScheduler scheduler(io, options, [&](auto r) { results.push_back(std::move(r)); });
  scheduler.set_config(config_of({tcp_spec("up", up.port())}));
  EXPECT_FALSE(scheduler.run_now("nope"));
  EXPECT_TRUE(scheduler.run_now("up"));
  EXPECT_TRUE(scheduler.run_now("up"));  // already in flight: answered by that run
  ASSERT_TRUE(run_until([&] { return count("up") >= 1; }));
  run_until([] { return false; }, 100ms);
  EXPECT_EQ(count("up"), 1u);
  EXPECT_TRUE(results[0].ok()) << results[0].error();
}

TEST_F(Fixture, ConfigChangeRemovesAndAddsChecks) {
  test::Listener up;
  HealthCheckScheduler scheduler(io, fast(), [&](auto r) { results.push_back(std::move(r)); });
  scheduler.set_config(config_of({tcp_spec("old", up.port())}));
  ASSERT_TRUE(run_until([&] { return count("old") >= 1; }));
  scheduler.set_config(config_of({tcp_spec("new", up.port())}));
  EXPECT_FALSE(scheduler.run_now("old"));
  ASSERT_TRUE(run_until([&] { return count("new") >= 2; }));
  const auto old_runs = count("old");
  run_until([] { return false; }, 400ms);
  EXPECT_EQ(count("old"), old_runs);
}

TEST_F(Fixture, IntervalHonoursTheFloorAndTheDefault) {
  HealthCheckScheduler scheduler(io, SchedulerOptions{}, [](auto) {});
  backup::v1::HealthCheckSpec spec;
  EXPECT_EQ(scheduler.interval_of(spec), 60s);
  spec.set_interval_sec(1);
  EXPECT_EQ(scheduler.interval_of(spec), 5s);
  spec.set_interval_sec(30);
  EXPECT_EQ(scheduler.interval_of(spec), 30s);
}

TEST_F(Fixture, ShutdownStopsAnInFlightRunPromptlyAndDeliversNothing) {
  std::mutex mutex;
  std::condition_variable_any cv;
  bool entered = false;
  SchedulerOptions options = fast();
  options.run = [&](const backup::v1::HealthCheckSpec& spec, std::stop_token stop) {
    {
      std::unique_lock lock(mutex);
      entered = true;
      cv.notify_all();
      cv.wait_for(lock, stop, 30s, [] { return false; });  // a check that hangs until stopped
    }
    backup::v1::HealthCheckResult result;
    result.set_check_id(spec.id());
    return result;
  };
  std::optional<HealthCheckScheduler> scheduler;
  scheduler.emplace(io, options, [&](auto r) { results.push_back(std::move(r)); });
  scheduler->set_config(config_of({tcp_spec("hang", 1)}));
  ASSERT_TRUE(run_until([&] {
    std::lock_guard lock(mutex);
    return entered;
  }));
  auto started = std::chrono::steady_clock::now();
  scheduler->shutdown();
  run_until([] { return false; }, 100ms);
  EXPECT_TRUE(results.empty());
  EXPECT_FALSE(scheduler->run_now("hang"));
  scheduler.reset();  // joins the worker: it must have seen the stop request
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace backupy::health
