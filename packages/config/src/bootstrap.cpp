#include "backupy/config/bootstrap.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>

#include "env_parse.hpp"

namespace backupy::config {
namespace {

bool is_alnum(std::string_view text) {
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// host:port with a numeric port; [v6]:port accepted.
bool is_listen_addr(std::string_view addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const auto port = parse_unsigned<unsigned>(addr.substr(colon + 1));
  return port && *port <= 65535;
}

}  // namespace

std::optional<std::string> lookup(const EnvLookup& env, std::string_view name) {
  if (auto value = env("BACKUPY_" + std::string(name))) return value;
  return env("BACKUP_" + std::string(name));
}

bool is_valid_agent_key(std::string_view key) {
  if (key.size() == 64) {
    for (char c : key) {
      if (!std::isdigit(static_cast<unsigned char>(c)) && !(c >= 'a' && c <= 'f')) return false;
    }
    return true;
  }
  for (std::string_view prefix : {"bkpy_live_", "bkpy_test_"}) {
    if (key.starts_with(prefix)) {
      const auto rest = key.substr(prefix.size());
      return rest.size() == 32 && is_alnum(rest);
    }
  }
  return false;
}

std::variant<BootstrapConfig, std::vector<std::string>> load_bootstrap(const EnvLookup& env) {
  BootstrapConfig config;
  std::vector<std::string> problems;

  const auto insecure = lookup(env, "DEV_ALLOW_INSECURE").value_or("");
  if (is_true(insecure)) {
    config.allow_insecure = true;
  } else if (!is_false(insecure)) {
    problems.push_back("BACKUPY_DEV_ALLOW_INSECURE must be true or false");
  }

  const auto server = lookup(env, "SERVER_URL");
  if (!server || server->empty()) {
    problems.push_back("BACKUPY_SERVER_URL is required (e.g. https://backupy.example.com)");
  } else {
    std::string error;
    if (auto url = net::agent_connect_url(*server, config.allow_insecure, &error)) {
      config.connect_url = *url;
      config.server_url = server->substr(0, server->find('?'));
    } else {
      problems.push_back("BACKUPY_SERVER_URL: " + error);
    }
  }

  const auto key = lookup(env, "AGENT_KEY");
  if (!key || key->empty()) {
    problems.push_back("BACKUPY_AGENT_KEY is required");
  } else if (!is_valid_agent_key(*key)) {
    // Length only: the key itself is never echoed, not even in part.
    problems.push_back(
        "BACKUPY_AGENT_KEY is not a valid agent key: expected 64 lowercase hex characters or "
        "bkpy_live_/bkpy_test_ followed by 32 letters or digits (got " +
        std::to_string(key->size()) + " characters)");
  } else {
    config.agent_key = *key;
  }

  if (auto dir = lookup(env, "STATE_DIR"); dir && !dir->empty()) {
    if (!std::filesystem::path(*dir).is_absolute()) {
      problems.push_back("BACKUPY_STATE_DIR must be an absolute path");
    } else {
      config.state_dir = *dir;
    }
  }

  if (auto level = lookup(env, "LOG_LEVEL"); level && !level->empty()) {
    if (auto parsed = core::parse_log_level(*level)) {
      config.log_level = *parsed;
    } else {
      problems.push_back("BACKUPY_LOG_LEVEL must be one of trace, debug, info, warn, error");
    }
  }

  if (auto socket = lookup(env, "DOCKER_SOCKET"); socket && !socket->empty()) {
    config.docker_socket = *socket;
  }

  const auto no_discovery = lookup(env, "DISABLE_DISCOVERY").value_or("");
  if (is_true(no_discovery)) {
    config.discovery_enabled = false;
  } else if (!is_false(no_discovery)) {
    problems.push_back("BACKUPY_DISABLE_DISCOVERY must be true, false, 1, 0, yes or no (got \"" +
                       no_discovery.substr(0, 40) + "\")");
  }

  if (auto metrics = lookup(env, "METRICS_LISTEN_ADDR")) {
    if (!metrics->empty() && !is_listen_addr(*metrics)) {
      problems.push_back("BACKUPY_METRICS_LISTEN_ADDR must be host:port (or empty to disable)");
    } else {
      config.metrics_listen_addr = *metrics;
    }
  }

  if (auto ca = lookup(env, "CA_FILE"); ca && !ca->empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*ca, ec)) {
      problems.push_back("BACKUPY_CA_FILE: " + *ca + " is not a readable file");
    } else {
      config.ca_file = *ca;
    }
  }

  if (auto limit = lookup(env, "MAX_INBOUND_BYTES"); limit && !limit->empty()) {
    const auto bytes = parse_unsigned<std::size_t>(*limit);
    if (!bytes || *bytes < kMinInboundMessageBytes) {
      problems.push_back("BACKUPY_MAX_INBOUND_BYTES must be a number of bytes >= 4194304");
    } else {
      config.max_inbound_message_bytes = *bytes;
    }
  }

  if (auto timeout = lookup(env, "PEER_TIMEOUT_SEC"); timeout && !timeout->empty()) {
    const auto seconds = parse_unsigned<unsigned>(*timeout);
    if (!seconds || *seconds < 2 || *seconds > 3600) {
      problems.push_back("BACKUPY_PEER_TIMEOUT_SEC must be between 2 and 3600");
    } else {
      config.peer_timeout = std::chrono::seconds(*seconds);
    }
  }

  load_run_settings(env, config.runs, problems);
  load_update_settings(env, config.update, problems);

  if (!config.connect_url.host.empty()) {
    try {
      config.proxy = net::proxy_for(config.connect_url.host, env);
    } catch (const std::invalid_argument& e) {
      problems.emplace_back(e.what());
    }
  }

  if (!problems.empty()) return problems;
  return config;
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace backupy::config
