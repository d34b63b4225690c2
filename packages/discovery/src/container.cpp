#include "backupy/discovery/container.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "backupy/discovery/classify.hpp"

namespace backupy::discovery {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::string_view, 8> kEnvHintPrefixes{
    "POSTGRES_", "PG", "MYSQL_", "MARIADB_", "MONGO_", "REDIS_", "VALKEY_", "KEYDB_"};

// obj[key] if obj is an object holding key, else null.
const Json& member(const Json& obj, const char* key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string required_string(const Json& inspect, const Json& value, const char* field) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    std::string id = "?";
    if (const Json& raw = member(inspect, "Id"); raw.is_string()) id = raw.get<std::string>();
    throw DiscoveryError("container inspect of " + id.substr(0, 64) + " has no " + field);
  }
  return value.get<std::string>();
}

// "5432" → 5432; nullopt for anything but a port number. Empty means "not published".
std::optional<std::uint32_t> port_number(std::string_view text) {
  std::uint32_t port = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, port);
  if (ec != std::errc() || p != end || port > 65535) return std::nullopt;
  return port;
}

// A PortMap ({"5432/tcp": [{"HostIp", "HostPort"}, …] or null}) → distinct
// (container_port, host_port, protocol). Entries that are not ports are
// skipped rather than failing the whole container.
std::set<std::tuple<std::uint32_t, std::uint32_t, std::string>> port_set(const Json& port_map) {
  std::set<std::tuple<std::uint32_t, std::uint32_t, std::string>> out;
  if (!port_map.is_object()) return out;
  for (const auto& [key, bindings] : port_map.items()) {
    const auto slash = key.find('/');
    const auto container_port = port_number(std::string_view(key).substr(0, slash));
    if (!container_port) continue;
    const std::string protocol = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    bool published = false;
    if (bindings.is_array()) {
      for (const Json& binding : bindings) {
        const Json& host_port = member(binding, "HostPort");
        if (!host_port.is_string()) continue;
        const auto number = port_number(host_port.get_ref<const std::string&>());
        if (!number) continue;
        out.emplace(*container_port, *number, protocol);
        published = true;
      }
    }
    if (!published) out.emplace(*container_port, 0, protocol);
  }
  return out;
}

}  // namespace

bool is_env_hint(std::string_view name) {
  return std::any_of(kEnvHintPrefixes.begin(), kEnvHintPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

backup::v1::DiscoveredContainer container_from_inspect(const Json& inspect) {
  if (!inspect.is_object()) throw DiscoveryError("container inspect answer is not a JSON object");
  backup::v1::DiscoveredContainer out;
  out.set_container_id(required_string(inspect, member(inspect, "Id"), "Id"));
  const Json& config = member(inspect, "Config");
  out.set_image(required_string(inspect, member(config, "Image"), "Config.Image"));

  if (const Json& name = member(inspect, "Name"); name.is_string()) {
    std::string text = name.get<std::string>();
    if (text.starts_with('/')) text.erase(0, 1);
    out.set_name(text);
  }

  std::map<std::string, std::string> labels;
  if (const Json& raw = member(config, "Labels"); raw.is_object()) {
    for (const auto& [key, value] : raw.items()) {
      if (value.is_string()) labels.emplace(key, value.get<std::string>());
    }
  }
  out.set_detected_db_type(backup::v1::DbType_Name(classify_image(out.image(), labels)));

  const Json& settings = member(inspect, "NetworkSettings");
  if (const Json& networks = member(settings, "Networks"); networks.is_object()) {
    std::set<std::string> names;
    for (const auto& [network, endpoint] : networks.items()) names.insert(network);
    for (const auto& network : names) out.add_networks(network);
  }

  if (const Json& env = member(config, "Env"); env.is_array()) {
    for (const Json& entry : env) {
      if (!entry.is_string()) continue;
      const std::string& text = entry.get_ref<const std::string&>();
      // Only the part before '=' is ever copied: the value stays here.
      const std::string name = text.substr(0, text.find('='));
      if (is_env_hint(name)) (*out.mutable_env_hints())[name] = "set";
    }
  }

  const Json* port_map = &member(settings, "Ports");
  if (!port_map->is_object()) port_map = &member(member(inspect, "HostConfig"), "PortBindings");
  for (const auto& [container_port, host_port, protocol] : port_set(*port_map)) {
    backup::v1::PortBinding* port = out.add_ports();
    port->set_container_port(container_port);
    port->set_host_port(host_port);
    port->set_protocol(protocol);
  }
  return out;
}

}  // namespace backupy::discovery
