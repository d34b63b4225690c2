#pragma once
// ContainerInspect JSON (Engine API GET /containers/{id}/json) → the wire's
// DiscoveredContainer. Pure, so that tests feed it recorded-shape fixtures.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

#include "backup/v1/agent.pb.h"

namespace backupy::discovery {

// An inspect answer without the fields discovery needs (Id, Config.Image).
class DiscoveryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whether an environment variable's NAME is reported as an env hint: the
// official/bitnami images' configuration prefixes (POSTGRES_, PG, MYSQL_,
// MARIADB_, MONGO_, REDIS_, VALKEY_, KEYDB_). A curated allow-list rather
// than every name: names are enough to say "a root password is configured",
// and other variables (PATH, app settings) are noise or reveal more than the
// control plane needs.
bool is_env_hint(std::string_view name);

// Fills container_id (Id), name (Name without its leading '/'), image
// (Config.Image, as the user wrote it), detected_db_type (the DbType enum's
// name, e.g. "POSTGRESQL"; "DB_UNSPECIFIED" for other containers), networks
// (NetworkSettings.Networks keys, sorted), env_hints (allow-listed variable
// NAMES from Config.Env, each with the value "set" — never the value) and
// ports: one PortBinding per distinct (container_port, host_port, protocol)
// from NetworkSettings.Ports (HostConfig.PortBindings when that is absent),
// so the IPv4 and IPv6 bindings of one published port appear once; an
// exposed but unpublished port is reported with host_port 0. Sorted.
// Throws DiscoveryError naming the missing field.
backup::v1::DiscoveredContainer container_from_inspect(const nlohmann::json& inspect);

}  // namespace backupy::discovery
