// container_from_inspect over the recorded-shape ContainerInspect fixtures.
#include "backupy/discovery/container.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "fixture_paths.hpp"

namespace backupy::discovery {
namespace {

using namespace testing;
using Json = nlohmann::json;
using Port = std::tuple<std::uint32_t, std::uint32_t, std::string>;

std::vector<Port> ports_of(const backup::v1::DiscoveredContainer& c) {
  std::vector<Port> out;
  for (const auto& p : c.ports()) out.emplace_back(p.container_port(), p.host_port(), p.protocol());
  return out;
}

std::map<std::string, std::string> hints_of(const backup::v1::DiscoveredContainer& c) {
  return {c.env_hints().begin(), c.env_hints().end()};
}

std::vector<std::string> networks_of(const backup::v1::DiscoveredContainer& c) {
  return {c.networks().begin(), c.networks().end()};
}

TEST(ContainerFromInspectTest, PostgresWithIpv4AndIpv6BindingsOfOnePort) {
  const auto c = container_from_inspect(inspect_fixture(kPostgresId));
  EXPECT_EQ(c.container_id(), kPostgresId);
  EXPECT_EQ(c.name(), "shop-db");
  EXPECT_EQ(c.image(), "postgres:16-alpine");
  EXPECT_EQ(c.detected_db_type(), "POSTGRESQL");
  EXPECT_EQ(networks_of(c), std::vector<std::string>{"shop_default"});
  // 0.0.0.0:5432 and [::]:5432 are one binding.
  EXPECT_EQ(ports_of(c), (std::vector<Port>{{5432, 5432, "tcp"}}));
  // Allow-listed names only (not PATH, GOSU_VERSION, LANG), each "set".
  EXPECT_EQ(hints_of(c), (std::map<std::string, std::string>{{"PGDATA", "set"},
                                                             {"PG_MAJOR", "set"},
                                                             {"PG_VERSION", "set"},
                                                             {"POSTGRES_DB", "set"},
                                                             {"POSTGRES_PASSWORD", "set"},
                                                             {"POSTGRES_USER", "set"}}));
}

TEST(ContainerFromInspectTest, MariaDbOnTwoNetworksPublishedOnAnotherHostPort) {
  const auto c = container_from_inspect(inspect_fixture(kMariaDbId));
  EXPECT_EQ(c.name(), "wiki-mariadb");
  EXPECT_EQ(c.detected_db_type(), "MARIADB");
  EXPECT_EQ(networks_of(c), (std::vector<std::string>{"monitoring", "wiki_default"}));
  EXPECT_EQ(ports_of(c), (std::vector<Port>{{3306, 3307, "tcp"}}));
  EXPECT_EQ(hints_of(c).size(), 5u);
  EXPECT_EQ(hints_of(c).at("MARIADB_ROOT_PASSWORD"), "set");
}

TEST(ContainerFromInspectTest, RedisFromARegistryWithLoopbackBindings) {
  const auto c = container_from_inspect(inspect_fixture(kRedisId));
  EXPECT_EQ(c.image(), "docker.io/bitnami/redis:7.2");
  EXPECT_EQ(c.detected_db_type(), "REDIS");
  EXPECT_EQ(ports_of(c), (std::vector<Port>{{6379, 6379, "tcp"}}));
  EXPECT_EQ(hints_of(c), (std::map<std::string, std::string>{{"REDIS_PASSWORD", "set"}}));
}

TEST(ContainerFromInspectTest, NoPortsAndTheTypeLabel) {
  const auto c = container_from_inspect(inspect_fixture(kNoPortsMongoId));
  EXPECT_EQ(c.image(), "registry.example.com:5000/team/orders-store:3");
  EXPECT_EQ(c.detected_db_type(), "MONGODB");
  EXPECT_TRUE(c.ports().empty());
  EXPECT_EQ(networks_of(c), std::vector<std::string>{"orders_internal"});
}

TEST(ContainerFromInspectTest, ANonDatabaseContainerIsUnspecified) {
  const auto c = container_from_inspect(inspect_fixture(kNginxId));
  EXPECT_EQ(c.detected_db_type(), "DB_UNSPECIFIED");
  EXPECT_TRUE(c.env_hints().empty());
}

TEST(ContainerFromInspectTest, SecretValuesNeverReachTheMessage) {
  for (const auto& id : {kPostgresId, kMariaDbId, kRedisId, kNoPortsMongoId}) {
    const std::string wire = container_from_inspect(inspect_fixture(id)).SerializeAsString();
    for (const char* secret : kSecretValues) {
      EXPECT_EQ(wire.find(secret), std::string::npos) << id << " leaks " << secret;
    }
  }
}

TEST(ContainerFromInspectTest, ExposedButUnpublishedPortsHaveHostPortZero) {
  Json inspect = inspect_fixture(kPostgresId);
  inspect["NetworkSettings"]["Ports"] = Json::parse(
      R"({"5432/tcp": null, "9187/tcp": [], "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "5353"}],
          "bogus": [{"HostIp": "", "HostPort": "1"}],
          "6000/tcp": [{"HostIp": "", "HostPort": "not-a-port"}]})");
  const auto c = container_from_inspect(inspect);
  EXPECT_EQ(
      ports_of(c),
      (std::vector<Port>{{53, 5353, "udp"}, {5432, 0, "tcp"}, {6000, 0, "tcp"}, {9187, 0, "tcp"}}));
}

TEST(ContainerFromInspectTest, FallsBackToHostConfigPortBindings) {
  Json inspect = inspect_fixture(kMariaDbId);
  inspect["NetworkSettings"].erase("Ports");
  const auto c = container_from_inspect(inspect);
  EXPECT_EQ(ports_of(c), (std::vector<Port>{{3306, 3307, "tcp"}}));
}

TEST(ContainerFromInspectTest, MissingFieldsAreNamed) {
  Json no_id = inspect_fixture(kPostgresId);
  no_id.erase("Id");
  EXPECT_THROW(
      {
        try {
          container_from_inspect(no_id);
        } catch (const DiscoveryError& e) {
          EXPECT_STREQ(e.what(), "container inspect of ? has no Id");
          throw;
        }
      },
      DiscoveryError);
  Json no_image = inspect_fixture(kPostgresId);
  no_image["Config"].erase("Image");
  try {
    container_from_inspect(no_image);
    ADD_FAILURE() << "expected DiscoveryError";
  } catch (const DiscoveryError& e) {
    EXPECT_EQ(std::string(e.what()),
              "container inspect of " + kPostgresId + " has no Config.Image");
  }
  EXPECT_THROW(container_from_inspect(Json::array()), DiscoveryError);
}

TEST(ContainerFromInspectTest, EnvHintAllowList) {
  for (const char* name :
       {"POSTGRES_PASSWORD", "PGPASSWORD", "PGDATA", "MYSQL_ROOT_PASSWORD", "MARIADB_USER",
        "MONGO_INITDB_ROOT_PASSWORD", "REDIS_PASSWORD", "VALKEY_EXTRA_FLAGS", "KEYDB_PASSWORD"}) {
    EXPECT_TRUE(is_env_hint(name)) << name;
  }
  for (const char* name :
       {"PATH", "HOME", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "pgdata", "GOSU_VERSION", ""}) {
    EXPECT_FALSE(is_env_hint(name)) << name;
  }
}

TEST(ContainerFromInspectTest, AnEnvEntryWithoutValueIsStillOnlyAName) {
  Json inspect = inspect_fixture(kRedisId);
  inspect["Config"]["Env"] = Json::array({"REDIS_ARGS", "REDIS_X=a=b", 42});
  const auto c = container_from_inspect(inspect);
  EXPECT_EQ(hints_of(c),
            (std::map<std::string, std::string>{{"REDIS_ARGS", "set"}, {"REDIS_X", "set"}}));
}

}  // namespace
}  // namespace backupy::discovery
