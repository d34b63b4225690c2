// discover() end to end over a unix socket: the fake Engine API
// (tests/support FakeDockerEngine, node/fake_docker.js) serves the fixtures.
#include "backupy/discovery/discover.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "fixture_paths.hpp"

namespace backupy::discovery {
namespace {

using namespace testing;
using test_support::FakeDockerEngine;

std::vector<std::string> ids_of(const backup::v1::DiscoveryReport& report) {
  std::vector<std::string> ids;
  for (const auto& c : report.containers()) ids.push_back(c.container_id());
  return ids;
}

TEST(DiscoverTest, ReportsTheDatabaseContainersInListOrder) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  docker::EngineClient client(fake.socket());
  const backup::v1::DiscoveryReport report = discover(client);
  // nginx is not a database; the vanished container 404s on inspect.
  EXPECT_EQ(ids_of(report),
            (std::vector<std::string>{kPostgresId, kMariaDbId, kRedisId, kNoPortsMongoId}));
  ASSERT_EQ(report.containers_size(), 4);
  EXPECT_EQ(report.containers(0).name(), "shop-db");
  EXPECT_EQ(report.containers(0).detected_db_type(), "POSTGRESQL");
  EXPECT_EQ(report.containers(1).detected_db_type(), "MARIADB");
  EXPECT_EQ(report.containers(2).detected_db_type(), "REDIS");
  EXPECT_EQ(report.containers(3).detected_db_type(), "MONGODB");
  EXPECT_EQ(report.containers(0).ports_size(), 1);
  EXPECT_EQ(report.containers(0).env_hints().at("POSTGRES_PASSWORD"), "set");
}

TEST(DiscoverTest, SecretValuesAreAbsentFromTheSerializedReport) {
  FakeDockerEngine fake({.fixtures = kFixtures});
  docker::EngineClient client(fake.socket());
  const backup::v1::DiscoveryReport report = discover(client);
  ASSERT_GT(report.containers_size(), 0);
  const std::string wire = report.SerializeAsString();
  const std::string text = report.DebugString();
  for (const char* secret : kSecretValues) {
    EXPECT_EQ(wire.find(secret), std::string::npos) << secret;
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  // The names are there: the test would pass vacuously otherwise.
  EXPECT_NE(wire.find("MARIADB_ROOT_PASSWORD"), std::string::npos);
}

TEST(DiscoverTest, WorksWithAnOlderDaemonAndChunkedAnswers) {
  // The fake refuses paths newer than its version (400), so success proves
  // every request used the negotiated /v1.41 prefix.
  FakeDockerEngine fake({.api_version = "1.41", .chunked = true, .fixtures = kFixtures});
  docker::EngineClient client(fake.socket());
  EXPECT_EQ(discover(client).containers_size(), 4);
  EXPECT_EQ(client.api_version(), "1.41");
}

TEST(DiscoverTest, NoContainersIsAnEmptyReport) {
  FakeDockerEngine fake;
  docker::EngineClient client(fake.socket());
  EXPECT_EQ(discover(client).containers_size(), 0);
}

TEST(DiscoverTest, NoDaemonIsAPreciseError) {
  test_support::TempDir dir;
  docker::EngineClient client(dir.path() / "docker.sock");
  try {
    discover(client);
    ADD_FAILURE() << "expected DockerError";
  } catch (const docker::DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("docker.sock"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BACKUPY_DOCKER_SOCKET"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace backupy::discovery
