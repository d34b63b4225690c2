#pragma once
// The control plane server: one io_context on one thread, serving over TLS on one port
//   GET /healthz             -> 200 {"status":"ok"}
//   GET /metrics             -> Prometheus text exposition (no token; counts only)
//   PUT/GET /objects/<key>   -> the embedded object store (storage type local; signed URLs)
//   GET /v1/agents/connect   -> WebSocket upgrade, "Authorization: Bearer <agent key>"
//                               (401 {"error":"unauthorized"} if missing or unknown)
//   other /v1/...            -> the operator API (runs, agents, tokens; README "Operator API"),
//                               "Authorization: Bearer <admin token>"
//   anything else            -> 404 {"error":"not found"}
// and speaking backup.v1 to connected agents (see agent_session.cpp for the protocol).
//
// Every event is one JSON log line from component "control-plane" with an "event" field.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backupy/controlplane/server_config.hpp"

namespace backupy::controlplane {

struct ServerOptions {
  // The YAML file reload() re-reads (SIGHUP). Empty: reload() without arguments fails.
  std::filesystem::path config_file;
  // Handle SIGHUP (reload) and SIGTERM/SIGINT (graceful stop) while run() runs.
  bool handle_signals = true;
  // How long a new agent session may take to send Register (tests shorten it).
  std::chrono::milliseconds register_timeout{10'000};
  // HTTP/TLS handshake budget per connection, from accept to a complete request.
  std::chrono::milliseconds handshake_timeout{10'000};
  // serve --dev: the generated certificate (dev_tls.hpp). Reloads then read the YAML with
  // TlsSource::dev and keep serving these files.
  std::optional<TlsFiles> dev_tls;
};

struct ReloadResult {
  bool ok = false;
  std::string error;  // the ConfigError / TLS message when !ok
  // The failure is in the configuration (YAML, validation, TLS files): the operator can fix the
  // file and retry. False for "no configuration file" and "server is shutting down".
  bool config_error = false;
  std::size_t agents = 0;               // agents configured after the reload
  std::size_t config_updates_sent = 0;  // ConfigUpdate messages sent to connected agents
};

class Server {
 public:
  // Loads the TLS files and binds the listener (so port() is valid right away).
  // Throws std::runtime_error with a precise message if either fails.
  explicit Server(ServerConfig config, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound TCP port (the real one when the config said port 0).
  std::uint16_t port() const;

  // Serves until stop() (or SIGTERM/SIGINT): then closes agent sessions with 1001 "going
  // away" and returns within about 4 s. Call from one thread only.
  void run();

  // Thread-safe; returns immediately.
  void stop();

  // Re-reads options.config_file, or applies `config`, and pushes ConfigUpdate to every
  // connected agent whose AgentConfig changed. On error the old configuration stays and
  // "config_reload_failed" is logged. Thread-safe: from another thread it waits until the
  // server thread has applied it. The listen address cannot change without a restart.
  ReloadResult reload();
  ReloadResult reload(ServerConfig config);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The version string printed by `backupy-control-plane version`.
std::string_view version();

}  // namespace backupy::controlplane
