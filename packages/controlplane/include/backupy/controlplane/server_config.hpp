#pragma once
// The control plane's configuration: one YAML file.
//
// Format (see packages/controlplane/config.example.yaml for a commented copy):
//
//   listen: "127.0.0.1:8443"      # host:port ("[::1]:8443" for IPv6); port 0 = any free port
//   tls:                           # required, except with `serve --dev` (then forbidden)
//     cert_file: server.crt        # PEM chain; relative paths are relative to the YAML file
//     key_file: server.key         # PEM private key
//   heartbeat_interval_sec: 30     # sent to agents in RegisterAck            (default 30)
//   ping_interval_sec: 30          # server Ping cadence                      (default 30)
//   idle_timeout_sec: 90           # silence from an agent = dead             (default 90)
//   max_message_bytes: 4194304     # inbound limit per frame, >= 4 MiB        (default 4 MiB)
//   delivery_ack: true             # advertise "delivery_ack.v1"              (default true)
//   agents:
//     - id: agent-1                # [A-Za-z0-9._-], unique
//       key_sha256: "<64 hex>"     # sha256 of the agent key (`backupy-control-plane hash-key`)
//       config:                    # backup.v1.AgentConfig in YAML form (optional)
//         version: 3
//         targets:  [{id, type, display_name, connection: {host, port, database, username,
//                     password, container_id, strategy}}]
//         jobs:     [{id, target_id, cron, retention_days, compression, encryption_enabled,
//                     pre_hooks, post_hooks, retry: {max_attempts, backoff_seconds}, timeout_sec}]
//         health_checks: [{id, name, type, target, interval_sec, timeout_sec, expected_status}]
//         maintenance: {start_utc: "HH:MM", end_utc: "HH:MM"}
//         advanced: {max_parallel_jobs, log_level, auto_update_enabled}
//   admin:                         # operator API (optional; without it every API call is 401)
//     token_sha256: ["<64 hex>"]   # sha256 of each admin bearer token (`hash-key`), unique
//   storage:                       # where agents upload backups (optional; runs need it)
//     type: local                  # local (the embedded default) | s3
//     # type local: the control plane stores the objects itself and serves them on its own
//     # HTTPS listener (PUT/GET /objects/<key>?expires=..&sig=.., HMAC-signed, expiring)
//     dir: objects                 # store directory (created if missing; relative to the YAML)
//     public_url: "https://cp.example.com:8443"  # base URL agents reach the listener at
//                                  # (default https://<listen host>:<bound port>)
//     max_object_bytes: 1099511627776  # largest accepted PUT (default 1 TiB)
//     url_signing_key_file: url.key    # HMAC key of the URLs (>= 32 bytes); default derived
//                                  # from token_signing_key_file, else random per process start
//     # type s3: S3-compatible object storage, presigned SigV4 URLs
//     endpoint: "http://127.0.0.1:9000"   # scheme://host[:port], nothing else
//     region: us-east-1
//     bucket: backups              # S3 bucket naming rules
//     path_style: true             # false = virtual-host style (bucket.host); needs a DNS name
//     access_key_id: AKIA...
//     secret_access_key_file: s3.secret   # exactly one of these two; the secret itself is
//     secret_access_key_env: S3_SECRET    # never written into the YAML
//     url_ttl_sec: 3600            # both types: lifetime of URLs (1-604800, default 3600)
//   token_signing_key_file: token.key     # HMAC key of decryption tokens (>= 32 bytes after
//                                  # trimming whitespace); absent = random per process start
//   scheduling:                    # the server's cron schedule and runs waiting for agents
//     max_waiting_runs_per_agent: 16  # runs created while the agent is offline that wait for
//                                  # it; a further run is refused (1-10000, default 16)
//     waiting_run_ttl_sec: 86400   # a run still waiting after this long fails with "agent X
//                                  # did not connect within N s" (60-31536000, default 86400)
//     agent_cron: true             # agents that advertise agent_cron.v1 schedule their own
//                                  # jobs (RegisterAck lists it; the server's schedule skips
//                                  # them); false = every agent is scheduled by the server
//     jitter_sec: 0                # published as AdvancedSettings.schedule_jitter_sec: agent-
//                                  # scheduled fires are delayed by a deterministic offset in
//                                  # [0, jitter_sec) per (agent, job) (0-86400, default 0)
//
// Jobs run on the server's schedule: a job's `cron` (UTC; 5 fields, 6 with leading seconds,
// or @daily etc.) makes the control plane send RunBackup when it fires. An empty or absent
// cron makes the job manual-only (POST /v1/jobs/{id}/run).
//   catalog_file: catalog.db       # the SQLite (WAL) catalog of agents, sessions, runs, results
//                                  # (default catalog.db beside the YAML; relative to the YAML)
//   master_key_file: master.key    # seals each run's data key in the catalog (>= 32 bytes after
//                                  # trimming whitespace); absent = <catalog dir>/master.key,
//                                  # generated (32 random bytes, hex, 0600) on the first start
//
// Enumerations: target type postgresql|mysql|mariadb|mongodb|redis|sqlite; connection strategy
// tcp|docker_exec|unix_socket (default tcp); compression zstd|gzip|none (default zstd); health
// check type http|https|tcp; log_level trace|debug|info|warn|error (default info).
// Defaults for absent job fields: encryption_enabled true, compression zstd. A health check of
// type http/https without expected_status expects 200.
//
// The YAML `password` is sent to the agent in ConnectionConfig.password_secret_ref, as v1
// servers do; every password is registered with the log redactor when the file is loaded.
//
// Validation is strict: unknown keys (typos), wrong types, duplicate keys, duplicate agent ids
// or key hashes, dangling job target ids and unreadable TLS files are rejected with
// "<file>:<line>: <path> <problem>", e.g.
//   cp.yaml:12: agents[0].key_sha256 must be 64 hex characters
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane {

// A configuration problem, with the 1-based YAML line it was found at (0 if none).
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string message, int line)
      : std::runtime_error(std::move(message)), line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

struct TlsFiles {
  std::filesystem::path cert_file;  // absolute (resolved against the YAML file's directory)
  std::filesystem::path key_file;
};

struct AgentEntry {
  std::string id;
  std::string key_sha256;  // 64 lowercase hex characters
  backup::v1::AgentConfig config;
};

enum class StorageType { local, s3 };

inline constexpr std::uint64_t kDefaultMaxObjectBytes = std::uint64_t{1} << 40;  // 1 TiB

// Where agents upload backups: the control plane's own object store (local) or S3-compatible
// storage, both through expiring presigned URLs.
struct StorageConfig {
  StorageType type = StorageType::local;
  std::uint32_t url_ttl_sec = 3600;

  // type local
  std::filesystem::path dir;  // absolute (resolved against the YAML file's directory)
  std::string public_url;     // "https://host[:port]" without a trailing slash; empty = derived
  std::uint64_t max_object_bytes = kDefaultMaxObjectBytes;
  // url_signing_key_file's trimmed contents (registered with the log redactor); empty = derived
  // from token_signing_key, else random per process start.
  std::string url_signing_key;

  // type s3
  std::string endpoint;  // "http(s)://host[:port]", validated
  std::string region;
  std::string bucket;
  bool path_style = true;
  std::string access_key_id;
  // Read from secret_access_key_file or secret_access_key_env at load time and registered with
  // the log redactor. Never logged, never in an API answer.
  std::string secret_access_key;
};

inline constexpr std::uint64_t kMinMessageBytes = 4 * 1024 * 1024;

// Runs that wait for their agent to connect (scheduled or manual, created while it was offline).
// agent_cron / jitter_sec: agent-side scheduling (agent_cron.v1, docs/protocol.md).
struct SchedulingConfig {
  std::uint32_t max_waiting_runs_per_agent = 16;
  std::uint32_t waiting_run_ttl_sec = 86400;
  bool agent_cron = true;
  std::uint32_t jitter_sec = 0;
};

struct ServerConfig {
  std::string listen_host = "127.0.0.1";  // an IP literal (brackets stripped) or "localhost"
  std::uint16_t listen_port = 8443;
  TlsFiles tls;
  std::uint32_t heartbeat_interval_sec = 30;
  std::uint32_t ping_interval_sec = 30;
  std::uint32_t idle_timeout_sec = 90;
  std::uint64_t max_message_bytes = kMinMessageBytes;
  bool delivery_ack = true;
  std::vector<AgentEntry> agents;
  // Operator API bearer tokens as sha256 hex (64 lowercase). Empty: every API call is 401.
  std::vector<std::string> admin_token_sha256;
  std::optional<StorageConfig> storage;
  // HMAC-SHA256 key of decryption tokens (token_signing_key_file's trimmed contents). Empty: the
  // server generates a random 32-byte key when it starts (tokens then die with the process).
  std::string token_signing_key;
  SchedulingConfig scheduling;
  // The catalog file (absolute). Empty only in configurations built in code (unit tests): runs
  // then live in memory for the life of the process. Read at start-up; a reload keeps the
  // catalog the server opened.
  std::filesystem::path catalog_file;
  // master_key_file's trimmed contents (registered with the log redactor). Empty: the server
  // uses <catalog dir>/master.key, generating it on the first start.
  std::string master_key;
};

// Where the listener's certificate comes from: the YAML's `tls:` section (required), or
// `serve --dev`, which generates one (dev_tls.hpp): `tls:` is then an error and
// ServerConfig::tls stays empty for the caller to fill in.
enum class TlsSource { yaml, dev };

// Reads and validates the YAML file. Relative TLS paths resolve against the file's directory;
// messages name the file as given. Throws ConfigError.
ServerConfig load_server_config(const std::filesystem::path& file,
                                TlsSource tls_source = TlsSource::yaml);

// Same, from text. source_name prefixes messages; base_dir resolves relative TLS paths.
ServerConfig parse_server_config(std::string_view yaml, std::string_view source_name,
                                 const std::filesystem::path& base_dir,
                                 TlsSource tls_source = TlsSource::yaml);

}  // namespace backupy::controlplane
