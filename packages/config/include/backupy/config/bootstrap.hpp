#pragma once
// The agent's bootstrap configuration: everything it needs before it can reach
// its control plane, read from the environment (docs/configuration.md).
//
// Variables are BACKUPY_<NAME>, falling back to the legacy BACKUP_<NAME>.
// Validation reports every problem at once, each naming its variable, and never
// echoes the agent key.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "backupy/core/log.hpp"
#include "backupy/net/proxy.hpp"
#include "backupy/net/url.hpp"

namespace backupy::config {

using net::EnvLookup;

inline constexpr std::string_view kDefaultStateDir = "/var/lib/backupy";
inline constexpr std::string_view kDefaultDockerSocket = "/var/run/docker.sock";
inline constexpr std::string_view kDefaultMetricsListenAddr = "127.0.0.1:9090";
inline constexpr std::size_t kMinInboundMessageBytes = 4 * 1024 * 1024;

// How backup runs behave on this host (docs/configuration.md, "Runs").
struct RunSettings {
  bool hooks_enabled = false;              // BACKUPY_HOOKS=enabled: the operator opted in
  std::chrono::seconds hook_timeout{300};  // BACKUPY_HOOK_TIMEOUT_SEC, per hook
  std::uint64_t spool_max_bytes = 0;       // BACKUPY_SPOOL_MAX_BYTES; 0 = only the disk limits
  int zstd_level = 3;                      // BACKUPY_ZSTD_LEVEL, 1-19
  unsigned zstd_workers = 2;               // BACKUPY_ZSTD_WORKERS, 0 = on the run's own thread
  unsigned upload_max_attempts = 5;        // BACKUPY_UPLOAD_MAX_ATTEMPTS, 1-100
};

// Self-update (docs/self-update.md): where the release key comes from and how far a new
// binary is trusted before it proved itself.
struct UpdateSettings {
  // BACKUPY_UPDATE_PUBLIC_KEY_FILE: a PEM P-256 public key; overrides the built-in key.
  std::optional<std::filesystem::path> public_key_file;
  std::uint64_t max_bytes = 256ull << 20;  // BACKUPY_UPDATE_MAX_BYTES: the download cap
  std::chrono::seconds trial_window{60};   // BACKUPY_UPDATE_TRIAL_SEC, 5-3600
};

struct BootstrapConfig {
  std::string server_url;  // as configured (query string stripped)
  net::Url connect_url;    // .../v1/agents/connect
  std::string agent_key;   // secret: never logged
  std::filesystem::path state_dir{std::string(kDefaultStateDir)};
  core::LogLevel log_level = core::LogLevel::info;
  std::string docker_socket{kDefaultDockerSocket};
  bool discovery_enabled = true;  // BACKUPY_DISABLE_DISCOVERY=true turns Docker discovery off
  bool allow_insecure = false;
  std::string metrics_listen_addr{kDefaultMetricsListenAddr};  // empty = disabled
  std::optional<std::string> ca_file;
  std::optional<net::ProxyConfig> proxy;
  // Tuning (documented, rarely changed).
  std::size_t max_inbound_message_bytes = kMinInboundMessageBytes;
  std::chrono::seconds peer_timeout{90};  // silence from the control plane = dead peer
  RunSettings runs;
  UpdateSettings update;
};

// Reads one variable with its legacy fallback: BACKUPY_<name>, then BACKUP_<name>.
std::optional<std::string> lookup(const EnvLookup& env, std::string_view name);

// Every problem found, or the config.
std::variant<BootstrapConfig, std::vector<std::string>> load_bootstrap(const EnvLookup& env);

// 64 lowercase hex characters, or bkpy_live_/bkpy_test_ + 32 letters/digits.
bool is_valid_agent_key(std::string_view key);

// "1048576", "512M", "10G", "2GiB", "1T" (binary multiples) -> bytes; nullopt if malformed.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

// The process environment.
EnvLookup process_env();

}  // namespace backupy::config
