// The discovery calls of EngineClient (container list, inspect, daemon
// version) against the fake Engine API serving packages/discovery's
// recorded-shape fixtures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backupy/docker/engine_client.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::docker {
namespace {

using test_support::FakeDockerEngine;

const std::string kPostgresId = "a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5";
const std::string kVanishedId = "283bb9deef02e6843abfb538efa1eca70801bd8a701c3f98191e123496339247";

TEST(EngineClientDiscoveryTest, ListsTheRunningContainerIds) {
  FakeDockerEngine fake({.fixtures = BACKUPY_DISCOVERY_FIXTURES});
  EngineClient client(fake.socket());
  const std::vector<std::string> ids = client.running_container_ids();
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids.front(), kPostgresId);
  EXPECT_EQ(ids.back(), kVanishedId);
}

TEST(EngineClientDiscoveryTest, NoContainersIsAnEmptyList) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  EXPECT_TRUE(client.running_container_ids().empty());
}

TEST(EngineClientDiscoveryTest, InspectReturnsTheBodyAndNulloptFor404) {
  FakeDockerEngine fake({.fixtures = BACKUPY_DISCOVERY_FIXTURES});
  EngineClient client(fake.socket());
  const auto body = client.inspect_container(kPostgresId);
  ASSERT_TRUE(body.has_value());
  const auto inspect = nlohmann::json::parse(*body);
  EXPECT_EQ(inspect.at("Id"), kPostgresId);
  EXPECT_EQ(inspect.at("Config").at("Image"), "postgres:16-alpine");
  EXPECT_EQ(client.inspect_container(kVanishedId), std::nullopt);
}

TEST(EngineClientDiscoveryTest, InspectRefusesWhatIsNotAnId) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  try {
    client.inspect_container("../version");
    ADD_FAILURE() << "expected DockerError";
  } catch (const DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("\"../version\" is not a container name or id"),
              std::string::npos)
        << e.what();
  }
}

TEST(EngineClientDiscoveryTest, InspectUsesTheNegotiatedVersion) {
  // The fake answers 400 to paths newer than its version.
  FakeDockerEngine fake({.api_version = "1.41", .fixtures = BACKUPY_DISCOVERY_FIXTURES});
  EngineClient client(fake.socket());
  EXPECT_TRUE(client.inspect_container(kPostgresId).has_value());
  EXPECT_EQ(client.api_version(), "1.41");
}

TEST(EngineClientDiscoveryTest, InspectErrorsOtherThan404AreNotSwallowed) {
  // An unreadable inspect fixture makes the fake answer 500 {"message"}.
  test_support::TempDir dir;
  std::filesystem::create_directories(dir.path() / "inspect");
  std::ofstream(dir.path() / "containers.json") << "[]";
  std::ofstream(dir.path() / "inspect" / "db1.json") << "{not json";
  FakeDockerEngine fake({.fixtures = dir.path()});
  EngineClient client(fake.socket());
  try {
    client.inspect_container("db1");
    ADD_FAILURE() << "expected DockerError";
  } catch (const DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("GET /v1.43/containers/db1/json: 500 "), std::string::npos)
        << e.what();
  }
}

TEST(EngineClientDiscoveryTest, DaemonVersion) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  EXPECT_EQ(client.daemon_version(), "24.0.7-fake");
}

}  // namespace
}  // namespace backupy::docker
