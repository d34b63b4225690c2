#include "backupy/controlplane/server_config.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "agent_config_yaml.hpp"
#include "backupy/core/redactor.hpp"
#include "operator_config_yaml.hpp"
#include "yaml_reader.hpp"

namespace backupy::controlplane {
namespace {

using detail::index_path;
using detail::join_path;
using detail::YamlReader;

constexpr std::uint64_t kMaxMessageCeiling = 1024ull * 1024 * 1024;
constexpr std::uint64_t kMaxIntervalSec = 86400;

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void parse_listen(const YamlReader& reader, const YAML::Node& root, ServerConfig& config) {
  const std::optional<std::string> listen = reader.opt_string(root, "", "listen");
  if (!listen) return;
  const YAML::Node at = root["listen"];
  const std::string problem =
      "must be \"host:port\" with an IP address or localhost (\"[::1]:8443\" "
      "for IPv6), got \"" +
      *listen + "\"";
  std::string host;
  std::string port;
  if (!listen->empty() && listen->front() == '[') {
    const std::size_t close = listen->find(']');
    if (close == std::string::npos || close + 1 >= listen->size() || (*listen)[close + 1] != ':') {
      reader.fail(at, "listen", problem);
    }
    host = listen->substr(1, close - 1);
    port = listen->substr(close + 2);
  } else {
    const std::size_t colon = listen->rfind(':');
    if (colon == std::string::npos) reader.fail(at, "listen", problem);
    host = listen->substr(0, colon);
    port = listen->substr(colon + 1);
    if (host.find(':') != std::string::npos) reader.fail(at, "listen", problem);
  }
  if (host != "localhost" && !is_ip_literal(host)) reader.fail(at, "listen", problem);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(port) > 65535) {
    reader.fail(at, "listen", problem);
  }
  config.listen_host = host == "localhost" ? "127.0.0.1" : host;
  config.listen_port = static_cast<std::uint16_t>(std::stoul(port));
}

std::filesystem::path resolve_readable(const YamlReader& reader, const YAML::Node& tls,
                                       std::string_view key, const std::filesystem::path& base) {
  const std::string path = join_path("tls", key);
  std::filesystem::path file = reader.req_string(tls, "tls", key);
  if (file.is_relative()) file = base / file;
  file = file.lexically_normal();
  std::ifstream probe(file, std::ios::binary);
  if (!probe) {
    const int err = errno;
    reader.fail(tls[std::string(key)], path,
                "cannot read \"" + file.string() + "\": " + std::strerror(err != 0 ? err : ENOENT));
  }
  return file;
}

bool is_agent_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

void parse_agents(const YamlReader& reader, const YAML::Node& root, ServerConfig& config,
                  std::vector<std::string>* passwords) {
  const YAML::Node agents = reader.opt_sequence(root, "", "agents");
  std::map<std::string, std::size_t> ids;
  std::map<std::string, std::size_t> keys;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const YAML::Node node = agents[i];
    const std::string path = index_path("agents", i);
    reader.expect_map(node, path, {"id", "key_sha256", "config"});
    AgentEntry entry;
    entry.id = reader.req_string(node, path, "id");
    if (!is_agent_id(entry.id)) {
      reader.fail(node["id"], join_path(path, "id"),
                  "must be 1-128 characters of A-Z a-z 0-9 . _ - (got \"" + entry.id + "\")");
    }
    if (auto [it, fresh] = ids.emplace(entry.id, i); !fresh) {
      reader.fail(node["id"], join_path(path, "id"),
                  "\"" + entry.id + "\" is already used by " + index_path("agents", it->second));
    }
    const std::string key = reader.req_string(node, path, "key_sha256");
    std::optional<std::string> hash = detail::normalize_sha256_hex(key);
    if (!hash)
      reader.fail(node["key_sha256"], join_path(path, "key_sha256"), "must be 64 hex characters");
    if (auto [it, fresh] = keys.emplace(*hash, i); !fresh) {
      reader.fail(node["key_sha256"], join_path(path, "key_sha256"),
                  "is the same as " + index_path("agents", it->second) +
                      ".key_sha256 (every agent needs its own key)");
    }
    entry.key_sha256 = *hash;
    if (YamlReader::has(node, "config")) {
      entry.config =
          detail::parse_agent_config(reader, node["config"], join_path(path, "config"), passwords);
    }
    config.agents.push_back(std::move(entry));
  }
}

std::uint32_t interval(const YamlReader& reader, const YAML::Node& root, std::string_view key,
                       std::uint32_t fallback) {
  return static_cast<std::uint32_t>(
      reader.opt_uint(root, "", key, kMaxIntervalSec, 1).value_or(fallback));
}

// The line of `key` itself in a mapping (a block mapping's value starts on the next line).
int key_line(const YAML::Node& map, std::string_view key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node name = it->first;  // a copy: it-> yields a temporary proxy
    if (name.IsScalar() && name.Scalar() == key) return YamlReader::line_of(name, map);
  }
  return YamlReader::line_of(map, map);
}

YAML::Node load_yaml(const YamlReader& reader, std::string_view yaml) {
  try {
    return YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    reader.fail(e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "YAML syntax error: " + e.msg);
  }
}

}  // namespace

ServerConfig parse_server_config(std::string_view yaml, std::string_view source_name,
                                 const std::filesystem::path& base_dir, TlsSource tls_source) {
  const YamlReader reader{std::string(source_name)};
  const YAML::Node root = load_yaml(reader, yaml);
  if (!root.IsDefined() || root.IsNull()) reader.fail(1, "", "is empty (expected a mapping)");
  reader.expect_map(
      root, "",
      {"listen", "tls", "heartbeat_interval_sec", "ping_interval_sec", "idle_timeout_sec",
       "max_message_bytes", "delivery_ack", "agents", "admin", "storage", "token_signing_key_file",
       "scheduling", "catalog_file", "master_key_file"});

  ServerConfig config;
  parse_listen(reader, root, config);

  // serve --dev brings its own certificate (dev_tls.hpp); a `tls:` section as well would leave
  // it unclear which one agents must trust, so that combination is refused.
  if (tls_source == TlsSource::dev) {
    if (YamlReader::has(root, "tls")) {
      reader.fail(key_line(root, "tls"), "tls",
                  "must not be given with serve --dev (dev mode generates its own certificate "
                  "in dev-tls/ beside this file): remove the section or serve without --dev");
    }
  } else {
    if (!YamlReader::has(root, "tls")) {
      reader.fail(YamlReader::line_of(root, root), "tls",
                  "is required (or try it out with `serve --dev`, which generates a throwaway "
                  "certificate)");
    }
    const YAML::Node tls = root["tls"];
    reader.expect_map(tls, "tls", {"cert_file", "key_file"});
    config.tls.cert_file = resolve_readable(reader, tls, "cert_file", base_dir);
    config.tls.key_file = resolve_readable(reader, tls, "key_file", base_dir);
  }

  config.heartbeat_interval_sec = interval(reader, root, "heartbeat_interval_sec", 30);
  config.ping_interval_sec = interval(reader, root, "ping_interval_sec", 30);
  config.idle_timeout_sec = interval(reader, root, "idle_timeout_sec", 90);
  config.max_message_bytes =
      reader.opt_uint(root, "", "max_message_bytes", kMaxMessageCeiling, kMinMessageBytes)
          .value_or(kMinMessageBytes);
  config.delivery_ack = reader.opt_bool(root, "", "delivery_ack").value_or(true);

  std::vector<std::string> passwords;
  parse_agents(reader, root, config, &passwords);
  for (const std::string& password : passwords) core::register_secret(password);

  config.admin_token_sha256 = detail::parse_admin(reader, root);
  config.storage = detail::parse_storage(reader, root, base_dir);
  config.token_signing_key = detail::parse_token_signing_key(reader, root, base_dir);
  config.scheduling = detail::parse_scheduling(reader, root);
  detail::parse_catalog(reader, root, base_dir, config);
  return config;
}

ServerConfig load_server_config(const std::filesystem::path& file, TlsSource tls_source) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw ConfigError(file.string() + ": cannot read: " + std::strerror(err != 0 ? err : ENOENT),
                      0);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string() + ": read error", 0);
  std::filesystem::path base = file.parent_path();
  if (base.empty()) base = ".";
  return parse_server_config(text.str(), file.string(), std::filesystem::absolute(base),
                             tls_source);
}

}  // namespace backupy::controlplane
