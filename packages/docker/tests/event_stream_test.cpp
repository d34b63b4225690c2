// EngineClient::watch_container_events against the fake Engine API's /events
// stream (tests/support/node/fake_docker.js), on a worker thread as the
// discovery service runs it.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "backupy/docker/engine_client.hpp"
#include "backupy/test_support/fake_docker.hpp"

namespace backupy::docker {
namespace {

using namespace std::chrono_literals;
using test_support::FakeDockerEngine;

const std::string kPostgresId = "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5";

// Collects what the watcher reports, for waiting with a deadline.
struct Recorder {
  std::mutex mutex;
  std::condition_variable changed;
  bool subscribed = false;
  std::vector<ContainerEvent> events;
  std::string error;
  bool returned = false;

  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return pred(); });
  }
};

std::jthread watch(EngineClient& client, Recorder& recorder) {
  return std::jthread([&client, &recorder](std::stop_token stop) {
    try {
      client.watch_container_events(
          [&] {
            std::lock_guard lock(recorder.mutex);
            recorder.subscribed = true;
            recorder.changed.notify_all();
          },
          [&](const ContainerEvent& event) {
            std::lock_guard lock(recorder.mutex);
            recorder.events.push_back(event);
            recorder.changed.notify_all();
          },
          stop);
    } catch (const DockerError& e) {
      std::lock_guard lock(recorder.mutex);
      recorder.error = e.what();
    }
    std::lock_guard lock(recorder.mutex);
    recorder.returned = true;
    recorder.changed.notify_all();
  });
}

TEST(EventStreamTest, DeliversWatchedContainerEventsInOrder) {
  FakeDockerEngine fake({.fixtures = BACKUPY_DISCOVERY_FIXTURES});
  EngineClient client(fake.socket());
  Recorder recorder;
  std::jthread worker = watch(client, recorder);
  ASSERT_TRUE(recorder.wait([&] { return recorder.subscribed; }));

  EXPECT_EQ(fake.inject_event("start", kPostgresId), 1);
  // Not in the request's filter: the fake does not deliver it.
  EXPECT_EQ(fake.inject_event("pause", kPostgresId), 0);
  EXPECT_EQ(fake.inject_event("die", kPostgresId), 1);
  EXPECT_EQ(fake.inject_event("destroy", "0123abcd"), 1);
  ASSERT_TRUE(recorder.wait([&] { return recorder.events.size() == 3; }));
  EXPECT_EQ(recorder.events[0].action, "start");
  EXPECT_EQ(recorder.events[0].container_id, kPostgresId);
  EXPECT_EQ(recorder.events[1].action, "die");
  EXPECT_EQ(recorder.events[2].container_id, "0123abcd");
  EXPECT_FALSE(recorder.returned);
}

TEST(EventStreamTest, StopEndsTheWatchPromptly) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  Recorder recorder;
  std::jthread worker = watch(client, recorder);
  ASSERT_TRUE(recorder.wait([&] { return recorder.subscribed; }));
  const auto asked = std::chrono::steady_clock::now();
  worker.request_stop();
  ASSERT_TRUE(recorder.wait([&] { return recorder.returned; }));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
  EXPECT_EQ(recorder.error, "") << "a stop is not an error";
}

TEST(EventStreamTest, ADaemonThatEndsTheStreamIsAnError) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  Recorder recorder;
  std::jthread worker = watch(client, recorder);
  ASSERT_TRUE(recorder.wait([&] { return recorder.subscribed; }));
  EXPECT_EQ(fake.close_event_streams(), 1);
  ASSERT_TRUE(recorder.wait([&] { return recorder.returned; }));
  EXPECT_NE(recorder.error.find("/events?filters="), std::string::npos) << recorder.error;
  EXPECT_NE(recorder.error.find("connection closed inside a chunked body"), std::string::npos)
      << recorder.error;
}

TEST(EventStreamTest, UsesTheNegotiatedVersionAndFilters) {
  FakeDockerEngine fake({.api_version = "1.41"});
  EngineClient client(fake.socket());
  Recorder recorder;
  std::jthread worker = watch(client, recorder);
  ASSERT_TRUE(recorder.wait([&] { return recorder.subscribed; }));
  EXPECT_EQ(client.api_version(), "1.41");
  EXPECT_EQ(fake.state().at("subscribers"), 1);
}

TEST(EventStreamTest, NoDaemonIsAPreciseError) {
  EngineClient client("/nonexistent/backupy-test/docker.sock");
  try {
    client.watch_container_events([] {}, [](const ContainerEvent&) {}, {});
    ADD_FAILURE() << "expected DockerError";
  } catch (const DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/backupy-test/docker.sock"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
}

TEST(EventStreamTest, TheClientsStopTokenCancelsOrdinaryRequests) {
  std::stop_source stop;
  FakeDockerEngine fake;
  EngineClient client(fake.socket(), std::chrono::seconds(30), stop.get_token());
  EXPECT_FALSE(client.daemon_version().empty());
  stop.request_stop();
  try {
    client.running_container_ids();
    ADD_FAILURE() << "expected DockerError";
  } catch (const DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace backupy::docker
