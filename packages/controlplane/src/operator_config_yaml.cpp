#include "operator_config_yaml.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "backupy/core/redactor.hpp"
#include "sigv4.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::size_t kMinSigningKeyBytes = 32;
constexpr std::uint64_t kMaxWaitingRuns = 10000;
// The expiry sweep runs once a minute: a shorter lifetime could not be honoured.
constexpr std::uint64_t kMinWaitingTtlSec = 60;
constexpr std::uint64_t kMaxJitterSec = 86400;
constexpr std::uint64_t kMaxWaitingTtlSec = 365ull * 86400;

bool is_bucket_name(const std::string& name) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return name.size() >= 3 && name.size() <= 63 && alnum(name.front()) && alnum(name.back()) &&
         std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '.'; }) &&
         name.find("..") == std::string::npos;
}

bool is_env_name(const std::string& name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_token_char(char c) {
  return c > ' ' && c < 0x7f;
}

// The trimmed contents of the file named at map[key] (relative to base); fails with the key's
// line if the file cannot be read. The contents never appear in a message.
std::string read_secret_file(const YamlReader& reader, const YAML::Node& map, std::string_view path,
                             std::string_view key, const std::filesystem::path& base) {
  const std::string key_path = join_path(path, key);
  std::filesystem::path file = reader.req_string(map, path, key);
  if (file.is_relative()) file = base / file;
  file = file.lexically_normal();
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    reader.fail(map[std::string(key)], key_path,
                "cannot read \"" + file.string() + "\": " + std::strerror(err != 0 ? err : ENOENT));
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = trim_secret(text.str());
  if (secret.empty()) reader.fail(map[std::string(key)], key_path, "names an empty file");
  return secret;
}

std::string read_secret_env(const YamlReader& reader, const YAML::Node& map, std::string_view path,
                            std::string_view key) {
  const std::string key_path = join_path(path, key);
  const std::string name = reader.req_string(map, path, key);
  if (!is_env_name(name)) {
    reader.fail(map[std::string(key)], key_path,
                "must be an environment variable name (got \"" + name + "\")");
  }
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') {
    reader.fail(map[std::string(key)], key_path,
                "names the environment variable " + name + ", which is not set or empty");
  }
  return value;
}

std::string read_secret_access_key(const YamlReader& reader, const YAML::Node& storage,
                                   const std::filesystem::path& base) {
  const bool from_file = YamlReader::has(storage, "secret_access_key_file");
  const bool from_env = YamlReader::has(storage, "secret_access_key_env");
  if (from_file && from_env) {
    reader.fail(storage["secret_access_key_env"], "storage.secret_access_key_env",
                "cannot be combined with storage.secret_access_key_file (give one of them)");
  }
  if (!from_file && !from_env) {
    reader.fail(YamlReader::line_of(storage, storage), "storage",
                "needs secret_access_key_file or secret_access_key_env");
  }
  return from_file ? read_secret_file(reader, storage, "storage", "secret_access_key_file", base)
                   : read_secret_env(reader, storage, "storage", "secret_access_key_env");
}

}  // namespace

std::string trim_secret(std::string text) {
  constexpr std::string_view kBlanks = " \t\r\n";
  const std::size_t last = text.find_last_not_of(kBlanks);
  text.erase(last == std::string::npos ? 0 : last + 1);
  text.erase(0, std::min(text.find_first_not_of(kBlanks), text.size()));
  return text;
}

std::optional<std::string> normalize_sha256_hex(const std::string& text) {
  if (text.size() != 64) return std::nullopt;
  std::string out = text;
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

std::vector<std::string> parse_admin(const YamlReader& reader, const YAML::Node& root) {
  if (!YamlReader::has(root, "admin")) return {};
  const YAML::Node admin = root["admin"];
  reader.expect_map(admin, "admin", {"token_sha256"});
  const YAML::Node list = reader.opt_sequence(admin, "admin", "token_sha256");
  std::vector<std::string> hashes;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = index_path("admin.token_sha256", i);
    std::optional<std::string> hash = normalize_sha256_hex(reader.as_string(list[i], list, path));
    if (!hash) reader.fail(YamlReader::line_of(list[i], list), path, "must be 64 hex characters");
    if (auto [it, fresh] = seen.emplace(*hash, i); !fresh) {
      reader.fail(YamlReader::line_of(list[i], list), path,
                  "is the same as " + index_path("admin.token_sha256", it->second));
    }
    hashes.push_back(std::move(*hash));
  }
  return hashes;
}

namespace {

void parse_s3_storage(const YamlReader& reader, const YAML::Node& node,
                      const std::filesystem::path& base_dir, StorageConfig& storage) {
  storage.endpoint = reader.req_string(node, "storage", "endpoint");
  std::string why;
  const std::optional<sigv4::Endpoint> endpoint = sigv4::parse_endpoint(storage.endpoint, &why);
  if (!endpoint) reader.fail(node["endpoint"], "storage.endpoint", why);

  storage.region = reader.req_string(node, "storage", "region");
  if (!std::all_of(storage.region.begin(), storage.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
      })) {
    reader.fail(node["region"], "storage.region",
                "must be letters, digits, '-' or '_' (got \"" + storage.region + "\")");
  }
  storage.bucket = reader.req_string(node, "storage", "bucket");
  if (!is_bucket_name(storage.bucket)) {
    reader.fail(node["bucket"], "storage.bucket",
                "must be 3-63 characters of a-z 0-9 . - starting and ending with a letter or "
                "digit (got \"" +
                    storage.bucket + "\")");
  }
  storage.path_style = reader.opt_bool(node, "storage", "path_style").value_or(true);
  if (!storage.path_style && endpoint->host_is_ip) {
    reader.fail(node["path_style"], "storage.path_style",
                "false (virtual-host style) needs an endpoint with a DNS name, not an IP address");
  }
  storage.access_key_id = reader.req_string(node, "storage", "access_key_id");
  if (!std::all_of(storage.access_key_id.begin(), storage.access_key_id.end(), is_token_char)) {
    reader.fail(node["access_key_id"], "storage.access_key_id",
                "must not contain blanks or control characters");
  }
  storage.secret_access_key = read_secret_access_key(reader, node, base_dir);
  core::register_secret(storage.secret_access_key);
}

void parse_local_storage(const YamlReader& reader, const YAML::Node& node,
                         const std::filesystem::path& base_dir, StorageConfig& storage) {
  const std::string dir = reader.req_string(node, "storage", "dir");
  if (dir.empty()) reader.fail(node["dir"], "storage.dir", "must not be empty");
  storage.dir =
      std::filesystem::path(dir).is_relative() ? base_dir / dir : std::filesystem::path(dir);
  storage.dir = storage.dir.lexically_normal();

  if (std::optional<std::string> url = reader.opt_string(node, "storage", "public_url")) {
    // Agents append "/objects/<key>?..." to it: a scheme and an authority, nothing else.
    if (!url->starts_with("https://")) {
      reader.fail(node["public_url"], "storage.public_url",
                  "must start with https:// (the control plane listens with TLS only)");
    }
    if (url->find_first_of("/?#", 8) != std::string::npos) {
      reader.fail(node["public_url"], "storage.public_url",
                  "must be https://host[:port] without a path or query");
    }
    std::string why;
    if (!sigv4::parse_endpoint(*url, &why))
      reader.fail(node["public_url"], "storage.public_url", why);
    storage.public_url = std::move(*url);
  }
  storage.max_object_bytes = reader
                                 .opt_uint(node, "storage", "max_object_bytes",
                                           std::numeric_limits<std::int64_t>::max(), 1)
                                 .value_or(kDefaultMaxObjectBytes);
  if (YamlReader::has(node, "url_signing_key_file")) {
    storage.url_signing_key =
        read_secret_file(reader, node, "storage", "url_signing_key_file", base_dir);
    if (storage.url_signing_key.size() < kMinSigningKeyBytes) {
      reader.fail(node["url_signing_key_file"], "storage.url_signing_key_file",
                  "must hold at least 32 bytes (e.g. `openssl rand -hex 32`), got " +
                      std::to_string(storage.url_signing_key.size()));
    }
    core::register_secret(storage.url_signing_key);
  }
}

}  // namespace

std::optional<StorageConfig> parse_storage(const YamlReader& reader, const YAML::Node& root,
                                           const std::filesystem::path& base_dir) {
  if (!YamlReader::has(root, "storage")) return std::nullopt;
  const YAML::Node node = root["storage"];
  if (node.IsMap() && node["secret_access_key"].IsDefined()) {
    reader.fail(node["secret_access_key"], "storage.secret_access_key",
                "must not be written into the YAML: use secret_access_key_file or "
                "secret_access_key_env");
  }
  if (!node.IsMap()) reader.expect_map(node, "storage", {});  // fails: must be a mapping
  StorageConfig storage;
  // local is the embedded default: a control plane needs no other service to take backups.
  const std::string type = reader.opt_string(node, "storage", "type").value_or("local");
  if (type == "local") {
    reader.expect_map(
        node, "storage",
        {"type", "dir", "public_url", "max_object_bytes", "url_signing_key_file", "url_ttl_sec"});
    storage.type = StorageType::local;
    parse_local_storage(reader, node, base_dir, storage);
  } else if (type == "s3") {
    reader.expect_map(node, "storage",
                      {"type", "endpoint", "region", "bucket", "path_style", "access_key_id",
                       "secret_access_key_file", "secret_access_key_env", "url_ttl_sec"});
    storage.type = StorageType::s3;
    parse_s3_storage(reader, node, base_dir, storage);
  } else {
    reader.fail(node["type"], "storage.type", "must be local or s3 (got \"" + type + "\")");
  }
  storage.url_ttl_sec = static_cast<std::uint32_t>(
      reader.opt_uint(node, "storage", "url_ttl_sec", sigv4::kMaxExpiresSec, 1).value_or(3600));
  return storage;
}

std::string parse_token_signing_key(const YamlReader& reader, const YAML::Node& root,
                                    const std::filesystem::path& base_dir) {
  if (!YamlReader::has(root, "token_signing_key_file")) return {};
  std::string key = read_secret_file(reader, root, "", "token_signing_key_file", base_dir);
  if (key.size() < kMinSigningKeyBytes) {
    reader.fail(root["token_signing_key_file"], "token_signing_key_file",
                "must hold at least 32 bytes (e.g. `openssl rand -hex 32`), got " +
                    std::to_string(key.size()));
  }
  core::register_secret(key);
  return key;
}

SchedulingConfig parse_scheduling(const YamlReader& reader, const YAML::Node& root) {
  SchedulingConfig scheduling;
  if (!YamlReader::has(root, "scheduling")) return scheduling;
  const YAML::Node node = root["scheduling"];
  reader.expect_map(
      node, "scheduling",
      {"max_waiting_runs_per_agent", "waiting_run_ttl_sec", "agent_cron", "jitter_sec"});
  // A bound keeps an agent that never returns from collecting runs (and their keys) forever.
  scheduling.max_waiting_runs_per_agent = static_cast<std::uint32_t>(
      reader.opt_uint(node, "scheduling", "max_waiting_runs_per_agent", kMaxWaitingRuns, 1)
          .value_or(scheduling.max_waiting_runs_per_agent));
  scheduling.waiting_run_ttl_sec = static_cast<std::uint32_t>(
      reader
          .opt_uint(node, "scheduling", "waiting_run_ttl_sec", kMaxWaitingTtlSec, kMinWaitingTtlSec)
          .value_or(scheduling.waiting_run_ttl_sec));
  scheduling.agent_cron =
      reader.opt_bool(node, "scheduling", "agent_cron").value_or(scheduling.agent_cron);
  // More than a day of spread would push a daily job past its next fire.
  scheduling.jitter_sec = static_cast<std::uint32_t>(
      reader.opt_uint(node, "scheduling", "jitter_sec", kMaxJitterSec).value_or(0));
  return scheduling;
}

void parse_catalog(const YamlReader& reader, const YAML::Node& root,
                   const std::filesystem::path& base_dir, ServerConfig& config) {
  std::filesystem::path file = reader.opt_string(root, "", "catalog_file").value_or("catalog.db");
  if (file.empty()) reader.fail(root["catalog_file"], "catalog_file", "must not be empty");
  if (file.is_relative()) file = base_dir / file;
  file = file.lexically_normal();
  const int line = YamlReader::line_of(root["catalog_file"], root);
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec) || !file.has_filename()) {
    reader.fail(line, "catalog_file", "names a directory (\"" + file.string() + "\"), not a file");
  }
  const std::filesystem::path dir = file.parent_path();
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    reader.fail(line, "catalog_file",
                "cannot be created: \"" + dir.string() + "\" is not a directory");
  }
  config.catalog_file = file;

  if (!YamlReader::has(root, "master_key_file")) return;
  std::string key = read_secret_file(reader, root, "", "master_key_file", base_dir);
  if (key.size() < kMinSigningKeyBytes) {
    reader.fail(root["master_key_file"], "master_key_file",
                "must hold at least 32 bytes (e.g. `openssl rand -hex 32`), got " +
                    std::to_string(key.size()));
  }
  core::register_secret(key);
  config.master_key = std::move(key);
}

}  // namespace backupy::controlplane::detail
