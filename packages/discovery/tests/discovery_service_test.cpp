// DiscoveryService against the fake Engine API (tests/support/node/fake_docker.js) on a
// unix socket: the start-up pass, debounced event passes, interval passes, reconnects and
// a missing socket. Intervals are shortened through the options; waits have deadlines.
#include "backupy/discovery/discovery_service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "backupy/core/log.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "fixture_paths.hpp"

namespace backupy::discovery {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using test_support::FakeDockerEngine;
using Clock = std::chrono::steady_clock;

// What the service handed over, with when.
class Reports {
 public:
  void add(backup::v1::DiscoveryReport report) {
    std::lock_guard lock(mutex_);
    reports_.push_back(std::move(report));
    times_.push_back(Clock::now());
    changed_.notify_all();
  }
  // Waits until at least n reports arrived; false after timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return reports_.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return reports_.size();
  }
  backup::v1::DiscoveryReport at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return reports_.at(i);
  }
  Clock::time_point time_of(std::size_t i) {
    std::lock_guard lock(mutex_);
    return times_.at(i);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<backup::v1::DiscoveryReport> reports_;
  std::vector<Clock::time_point> times_;
};

std::vector<std::string> names_of(const backup::v1::DiscoveryReport& report) {
  std::vector<std::string> names;
  for (const auto& c : report.containers()) names.push_back(c.name());
  return names;
}

// Records the discovery component's log lines (at debug too) while alive.
class LogCapture {
 public:
  LogCapture() : level_(core::log_level()) {
    core::set_log_level(core::LogLevel::debug);
    id_ = core::add_log_tap([this](const core::LogRecord& record) {
      if (record.component != "discovery") return;
      std::lock_guard lock(mutex_);
      records_.push_back(record);
      changed_.notify_all();
    });
  }
  ~LogCapture() {
    core::remove_log_tap(id_);
    core::set_log_level(level_);
  }
  std::vector<core::LogRecord> with_level(core::LogLevel level) {
    std::lock_guard lock(mutex_);
    std::vector<core::LogRecord> out;
    for (const auto& r : records_) {
      if (r.level == level) out.push_back(r);
    }
    return out;
  }
  bool wait_for_count(const std::string& message, std::size_t n,
                      std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      std::size_t count = 0;
      for (const auto& r : records_) count += r.message == message ? 1 : 0;
      return count >= n;
    });
  }

 private:
  core::LogLevel level_;
  int id_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<core::LogRecord> records_;
};

std::string field(const core::LogRecord& record, const std::string& key) {
  for (const auto& [k, v] : record.fields) {
    if (k == key) return v;
  }
  return "";
}

DiscoveryServiceOptions fast_options(const std::filesystem::path& socket) {
  return {.socket = socket,
          .debounce = 400ms,
          .max_delay = 5000ms,
          .interval = 1h,
          .reconnect_initial = 50ms,
          .reconnect_cap = 200ms};
}

bool subscribed(const FakeDockerEngine& fake, int streams = 1) {
  return fake.wait_for_state(
      [&](const nlohmann::json& s) { return s.at("subscribers") == streams; }, 10s);
}

TEST(DiscoveryServiceTest, StartUpPassReportsTheDatabasesAndLearnsTheVersion) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  Reports reports;
  DiscoveryService service(fast_options(fake.socket()),
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  EXPECT_EQ(service.daemon_version(), "");
  service.start();
  ASSERT_TRUE(service.wait_for_first_pass(10s));
  ASSERT_TRUE(reports.wait_for(1));
  EXPECT_EQ(names_of(reports.at(0)),
            (std::vector<std::string>{"shop-db", "wiki-mariadb", "cache", "orders-mongo"}));
  EXPECT_EQ(service.daemon_version(), "24.0.7-fake");
}

TEST(DiscoveryServiceTest, ABurstOfEventsIsOneReportAfterTheDebounce) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  fake.set_running({kPostgresId, kMariaDbId});
  Reports reports;
  DiscoveryService service(fast_options(fake.socket()),
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  service.start();
  ASSERT_TRUE(reports.wait_for(1));
  EXPECT_EQ(names_of(reports.at(0)), (std::vector<std::string>{"shop-db", "wiki-mariadb"}));
  ASSERT_TRUE(subscribed(fake));

  // `docker compose up` of two, and one stops: three events, one report.
  EXPECT_EQ(fake.inject_event("start", kRedisId), 1);
  EXPECT_EQ(fake.inject_event("start", kNoPortsMongoId), 1);
  const auto before_last_event = Clock::now();  // the service cannot see it earlier
  EXPECT_EQ(fake.inject_event("die", kMariaDbId), 1);
  ASSERT_TRUE(reports.wait_for(2));
  EXPECT_GE(reports.time_of(1) - before_last_event, 400ms) << "the pass waits for the quiet period";
  EXPECT_EQ(names_of(reports.at(1)),
            (std::vector<std::string>{"shop-db", "cache", "orders-mongo"}));
  // Nothing else is due: no second report for the same burst.
  EXPECT_FALSE(reports.wait_for(3, 1200ms));
}

TEST(DiscoveryServiceTest, AContinuousBurstIsReportedAfterMaxDelay) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  Reports reports;
  auto options = fast_options(fake.socket());
  options.debounce = 1000ms;
  options.max_delay = 600ms;
  DiscoveryService service(options,
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  service.start();
  ASSERT_TRUE(reports.wait_for(1));
  ASSERT_TRUE(subscribed(fake));
  // Events every 150 ms for 2.4 s: the debounce alone would never fire.
  const auto first_event = Clock::now();
  for (int i = 0; i < 16; ++i) {
    fake.inject_event(i % 2 == 0 ? "die" : "start", kRedisId);
    std::this_thread::sleep_for(150ms);  // the cadence under test, not synchronisation
  }
  ASSERT_GE(reports.size(), 2u) << "max_delay bounds a burst";
  EXPECT_LT(reports.time_of(1) - first_event, 1500ms);
}

TEST(DiscoveryServiceTest, PassesRunOnTheIntervalWithoutEvents) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  Reports reports;
  auto options = fast_options(fake.socket());
  options.interval = 300ms;
  DiscoveryService service(options,
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  const auto started = Clock::now();
  service.start();
  ASSERT_TRUE(reports.wait_for(3));
  EXPECT_GE(reports.time_of(2) - started, 550ms) << "the interval is kept between passes";
}

TEST(DiscoveryServiceTest, ReconnectsWhenTheStreamEndsAndPassesAgain) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  Reports reports;
  LogCapture logs;
  DiscoveryService service(fast_options(fake.socket()),
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  service.start();
  ASSERT_TRUE(reports.wait_for(1));
  ASSERT_TRUE(subscribed(fake));
  // A daemon restart: the stream breaks; a container may have started meanwhile.
  fake.set_running({kPostgresId});
  EXPECT_EQ(fake.close_event_streams(), 1);
  ASSERT_TRUE(fake.wait_for_state(
      [](const nlohmann::json& s) {
        return s.at("event_requests") == 2 && s.at("subscribers") == 1;
      },
      10s));
  ASSERT_TRUE(reports.wait_for(2)) << "a pass follows the re-subscription";
  EXPECT_EQ(names_of(reports.at(1)), (std::vector<std::string>{"shop-db"}));
  // Events on the new stream are seen.
  EXPECT_EQ(fake.inject_event("start", kRedisId), 1);
  ASSERT_TRUE(reports.wait_for(3));
  EXPECT_EQ(names_of(reports.at(2)), (std::vector<std::string>{"shop-db", "cache"}));
  const auto warnings = logs.with_level(core::LogLevel::warn);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(field(warnings[0], "error").find("chunked body"), std::string::npos);
}

TEST(DiscoveryServiceTest, AMissingSocketIsLoggedOnceAndDiscoveryStartsWhenItAppears) {
  test_support::TempDir dir;
  const auto socket = dir.path() / "docker.sock";
  Reports reports;
  LogCapture logs;
  DiscoveryService service(fast_options(socket),
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  service.start();
  ASSERT_TRUE(service.wait_for_first_pass(10s));
  // Several retries of the event stream, each logged at debug only.
  ASSERT_TRUE(logs.wait_for_count("Docker Engine API still unreachable", 4, 10s));
  const auto warnings = logs.with_level(core::LogLevel::warn);
  ASSERT_EQ(warnings.size(), 1u);
  const std::string error = field(warnings[0], "error");
  EXPECT_NE(error.find(socket.string()), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
  EXPECT_NE(error.find("BACKUPY_DOCKER_SOCKET"), std::string::npos) << error;
  EXPECT_EQ(reports.size(), 0u) << "a failed pass sends no (empty) report";
  EXPECT_EQ(service.daemon_version(), "");

  FakeDockerEngine fake({.fixtures = kFixtures, .socket = socket});
  ASSERT_TRUE(reports.wait_for(1)) << "the re-subscription runs a pass";
  EXPECT_EQ(reports.at(0).containers_size(), 4);
  EXPECT_EQ(service.daemon_version(), "24.0.7-fake");
  ASSERT_TRUE(logs.wait_for_count("Docker Engine API reachable", 1, 5s));
  EXPECT_EQ(logs.with_level(core::LogLevel::warn).size(), 1u);
}

TEST(DiscoveryServiceTest, StopIsPromptWhileWatching) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  Reports reports;
  DiscoveryService service(fast_options(fake.socket()),
                           [&](backup::v1::DiscoveryReport r) { reports.add(std::move(r)); });
  service.start();
  ASSERT_TRUE(reports.wait_for(1));
  ASSERT_TRUE(subscribed(fake));
  const auto asked = Clock::now();
  service.stop();
  EXPECT_LT(Clock::now() - asked, 1s);
  service.stop();  // idempotent
}

}  // namespace
}  // namespace backupy::discovery
