#include "backupy/discovery/classify.hpp"

#include <gtest/gtest.h>

namespace backupy::discovery {
namespace {

using backup::v1::DbType;

struct Case {
  const char* image;
  DbType expected;
};

// Image references as users write them in compose files and `docker run`.
const Case kCases[] = {
    // PostgreSQL and its distributions
    {"postgres", backup::v1::POSTGRESQL},
    {"postgres:16-alpine", backup::v1::POSTGRESQL},
    {"docker.io/library/postgres:15", backup::v1::POSTGRESQL},
    {"library/postgres", backup::v1::POSTGRESQL},
    {"registry.example.com:5000/postgres:16", backup::v1::POSTGRESQL},
    {"registry.example.com:5000/team/postgres", backup::v1::POSTGRESQL},
    {"bitnami/postgresql:16.1.0-debian-11-r15", backup::v1::POSTGRESQL},
    {"timescale/timescaledb-ha:pg16", backup::v1::POSTGRESQL},
    {"timescale/timescaledb:latest-pg16", backup::v1::POSTGRESQL},
    {"postgis/postgis:16-3.4", backup::v1::POSTGRESQL},
    {"ghcr.io/org/postgres:16@sha256:"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     backup::v1::POSTGRESQL},
    {"POSTGRES:16", backup::v1::POSTGRESQL},
    {"localhost:5000/postgres", backup::v1::POSTGRESQL},
    // MySQL and Percona
    {"mysql:8.0", backup::v1::MYSQL},
    {"mysql/mysql-server:8.0", backup::v1::MYSQL},
    {"container-registry.oracle.com/mysql/community-server:8.3", backup::v1::MYSQL},
    {"acme/community-server", backup::v1::DB_UNSPECIFIED},  // only under mysql/
    {"percona/percona-server:8.0", backup::v1::MYSQL},
    {"percona:8", backup::v1::MYSQL},
    {"docker.io/bitnami/mysql:8.2", backup::v1::MYSQL},
    // MariaDB
    {"mariadb:11.2", backup::v1::MARIADB},
    {"docker.io/library/mariadb@sha256:"
     "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210",
     backup::v1::MARIADB},
    {"bitnami/mariadb-galera:11", backup::v1::MARIADB},
    // MongoDB
    {"mongo:7", backup::v1::MONGODB},
    {"mongodb/mongodb-community-server:7.0-ubuntu2204", backup::v1::MONGODB},
    {"bitnami/mongodb:7.0", backup::v1::MONGODB},
    // Redis and compatibles
    {"redis", backup::v1::REDIS},
    {"redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     backup::v1::REDIS},
    {"redis:7.2-alpine", backup::v1::REDIS},
    {"valkey/valkey:7.2", backup::v1::REDIS},
    {"eqalpha/keydb:latest", backup::v1::REDIS},
    {"redis/redis-stack-server:7.2.0-v6", backup::v1::REDIS},
    // Not databases: tools around them, and everything else
    {"prometheuscommunity/postgres-exporter", backup::v1::DB_UNSPECIFIED},
    {"quay.io/prometheus/mysqld-exporter:v0.15.0", backup::v1::DB_UNSPECIFIED},
    {"oliver006/redis_exporter", backup::v1::DB_UNSPECIFIED},
    {"bitnami/redis-sentinel:7.2", backup::v1::DB_UNSPECIFIED},  // no data of its own
    {"dpage/pgadmin4", backup::v1::DB_UNSPECIFIED},
    {"adminer", backup::v1::DB_UNSPECIFIED},
    {"mongo-express", backup::v1::DB_UNSPECIFIED},
    {"nginx:1.25", backup::v1::DB_UNSPECIFIED},
    {"postgres/nginx", backup::v1::DB_UNSPECIFIED},  // a namespace says nothing
    {"my-postgres-app:1.0", backup::v1::DB_UNSPECIFIED},
    {"", backup::v1::DB_UNSPECIFIED},
    {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
     backup::v1::DB_UNSPECIFIED},
};

TEST(ClassifyTest, ImageTable) {
  static_assert(std::size(kCases) >= 30);
  for (const Case& c : kCases) {
    EXPECT_EQ(classify_image(c.image, {}), c.expected)
        << c.image << " → " << backup::v1::DbType_Name(classify_image(c.image, {}));
  }
}

TEST(ClassifyTest, RepositoryNameDropsRegistryNamespaceTagAndDigest) {
  EXPECT_EQ(image_repository_name("registry.example.com:5000/bitnami/PostgreSQL:16@sha256:ab"),
            "postgresql");
  EXPECT_EQ(image_repository_name("registry.example.com:5000/redis"), "redis");
  EXPECT_EQ(image_repository_name("ghcr.io/org/team/mongo:7"), "mongo");
  EXPECT_EQ(image_repository_name("  mariadb  "), "mariadb");
}

TEST(ClassifyTest, TheTypeLabelWins) {
  EXPECT_EQ(classify_image("ghcr.io/acme/orders-store:3", {{"backupy.type", "mongodb"}}),
            backup::v1::MONGODB);
  EXPECT_EQ(classify_image("postgres:16", {{"backupy.type", "mysql"}}), backup::v1::MYSQL);
  EXPECT_EQ(classify_image("alpine", {{"backupy.type", " SQLite "}}), backup::v1::SQLITE);
  EXPECT_EQ(classify_image("alpine", {{"backupy.type", "PostgreSQL"}}), backup::v1::POSTGRESQL);
  EXPECT_EQ(classify_image("mysql", {{"backupy.type", "mariadb"}}), backup::v1::MARIADB);
  EXPECT_EQ(classify_image("keydb", {{"backupy.type", "redis"}}), backup::v1::REDIS);
}

TEST(ClassifyTest, AnUnknownTypeLabelLeavesTheDecisionToTheImage) {
  EXPECT_EQ(classify_image("postgres:16", {{"backupy.type", "oracle"}}), backup::v1::POSTGRESQL);
  EXPECT_EQ(classify_image("nginx", {{"backupy.type", ""}}), backup::v1::DB_UNSPECIFIED);
  // Only the exact label name counts.
  EXPECT_EQ(classify_image("nginx", {{"backupy.type.extra", "redis"}, {"type", "redis"}}),
            backup::v1::DB_UNSPECIFIED);
}

}  // namespace
}  // namespace backupy::discovery
