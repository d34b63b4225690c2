// resolve_endpoint: the engine's defaults fill what TCP and UNIX_SOCKET
// targets leave empty; DOCKER_EXEC targets keep empty values.
#include "backupy/drivers/endpoint.hpp"

#include <gtest/gtest.h>

namespace backupy::drivers {
namespace {

constexpr EngineDefaults kDefaults{
    .tcp_host = "localhost", .socket_path = "/run/db.sock", .port = 5555};

backup::v1::Target target(backup::v1::ConnectionStrategy strategy, const std::string& host = "",
                          std::uint32_t port = 0) {
  backup::v1::Target t;
  t.set_id("t");
  auto* c = t.mutable_connection();
  c->set_strategy(strategy);
  c->set_host(host);
  c->set_port(port);
  c->set_database("app");
  c->set_username("backup");
  c->set_password_secret_ref("pw");
  c->set_container_id("db1");
  return t;
}

TEST(Endpoint, TcpFillsHostAndPort) {
  const Endpoint at = resolve_endpoint(target(backup::v1::TCP), kDefaults);
  EXPECT_FALSE(at.socket);
  EXPECT_FALSE(at.docker);
  EXPECT_EQ(at.host, "localhost");
  EXPECT_EQ(at.port, 5555u);
  EXPECT_EQ(at.database, "app");
  EXPECT_EQ(at.user, "backup");
  EXPECT_EQ(at.password, "pw");
}

TEST(Endpoint, ConfiguredValuesWin) {
  const Endpoint at = resolve_endpoint(target(backup::v1::TCP, "db.internal", 6000), kDefaults);
  EXPECT_EQ(at.host, "db.internal");
  EXPECT_EQ(at.port, 6000u);
}

TEST(Endpoint, UnixSocketDefaultsToTheEnginesSocket) {
  const Endpoint at = resolve_endpoint(target(backup::v1::UNIX_SOCKET), kDefaults);
  EXPECT_TRUE(at.socket);
  EXPECT_EQ(at.host, "/run/db.sock");
  EXPECT_EQ(at.port, 5555u);
}

TEST(Endpoint, DockerExecKeepsEmptyValuesForTheToolsInTheContainer) {
  const Endpoint at = resolve_endpoint(target(backup::v1::DOCKER_EXEC), kDefaults);
  EXPECT_TRUE(at.docker);
  EXPECT_EQ(at.container, "db1");
  EXPECT_EQ(at.host, "");
  EXPECT_EQ(at.port, 0u);
}

}  // namespace
}  // namespace backupy::drivers
