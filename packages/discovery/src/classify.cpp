#include "backupy/discovery/classify.hpp"

#include <array>
#include <utility>

#include "backupy/core/ascii.hpp"
#include "backupy/wire/db_type_names.hpp"

namespace backupy::discovery {
namespace {

using backup::v1::DbType;

// Repository names (last path component) of the images that hold data of
// their own. Exact matches only: exporters, sentinels, admin UIs and
// operators share the prefixes but are not databases.
constexpr std::array<std::pair<std::string_view, DbType>, 22> kRepositories{{
    {"postgres", backup::v1::POSTGRESQL},
    {"postgresql", backup::v1::POSTGRESQL},  // bitnami/postgresql
    {"postgresql-repmgr", backup::v1::POSTGRESQL},
    {"postgis", backup::v1::POSTGRESQL},
    {"timescaledb", backup::v1::POSTGRESQL},
    {"timescaledb-ha", backup::v1::POSTGRESQL},
    {"timescaledb-postgis", backup::v1::POSTGRESQL},
    {"mysql", backup::v1::MYSQL},
    {"mysql-server", backup::v1::MYSQL},  // mysql/mysql-server
    {"percona", backup::v1::MYSQL},
    {"percona-server", backup::v1::MYSQL},
    {"percona-server-mysql", backup::v1::MYSQL},
    {"mariadb", backup::v1::MARIADB},
    {"mariadb-galera", backup::v1::MARIADB},
    {"mongo", backup::v1::MONGODB},
    {"mongodb", backup::v1::MONGODB},  // bitnami/mongodb
    {"mongodb-community-server", backup::v1::MONGODB},
    {"mongodb-enterprise-server", backup::v1::MONGODB},
    {"redis", backup::v1::REDIS},
    {"redis-stack-server", backup::v1::REDIS},
    {"valkey", backup::v1::REDIS},
    {"keydb", backup::v1::REDIS},  // eqalpha/keydb
}};

// Generic repository names that identify an engine only under its vendor's
// namespace (Oracle's container-registry.oracle.com/mysql/community-server).
struct NamespacedRepository {
  std::string_view ns;
  std::string_view repository;
  DbType type;
};
constexpr std::array<NamespacedRepository, 2> kNamespacedRepositories{{
    {"mysql", "community-server", backup::v1::MYSQL},
    {"mysql", "enterprise-server", backup::v1::MYSQL},
}};

// The path component before the repository name ("" if none), lower-cased.
std::string namespace_of(std::string_view image) {
  if (const auto at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  const auto slash = image.rfind('/');
  if (slash == std::string_view::npos) return {};
  image = image.substr(0, slash);
  const auto previous = image.rfind('/');
  return core::ascii_lower(previous == std::string_view::npos ? image : image.substr(previous + 1));
}

}  // namespace

std::string image_repository_name(std::string_view image) {
  image = core::trim_blanks(image);
  // "name@sha256:…": the digest may contain ':' of its own, so it goes first.
  if (const auto at = image.find('@'); at != std::string_view::npos) image = image.substr(0, at);
  const auto slash = image.rfind('/');
  const auto last_start = slash == std::string_view::npos ? 0 : slash + 1;
  // A ':' in the last component is the tag; one before it is a registry port.
  if (const auto colon = image.find(':', last_start); colon != std::string_view::npos) {
    image = image.substr(0, colon);
  }
  // Registry host and namespaces are all before the last '/'; the repository
  // name alone identifies the engine whoever publishes it.
  return core::ascii_lower(image.substr(last_start));
}

DbType classify_image(std::string_view image, const std::map<std::string, std::string>& labels) {
  if (const auto label = labels.find(std::string(kTypeLabel)); label != labels.end()) {
    const std::string value = core::ascii_lower(core::trim_blanks(label->second));
    for (const auto& [name, type] : wire::kDbTypeNames) {
      if (value == name) return type;
    }
  }
  const std::string repository = image_repository_name(image);
  for (const auto& [name, type] : kRepositories) {
    if (repository == name) return type;
  }
  for (const auto& entry : kNamespacedRepositories) {
    if (repository == entry.repository && namespace_of(core::trim_blanks(image)) == entry.ns) {
      return entry.type;
    }
  }
  return backup::v1::DB_UNSPECIFIED;
}

}  // namespace backupy::discovery
