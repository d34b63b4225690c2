#pragma once
// State shared by the listener, the agent sessions and the Server (private to the package).
// Everything here is touched only from the server's single io_context thread.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent_status.hpp"
#include "background_worker.hpp"
#include "backup/v1/agent.pb.h"
#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/controlplane/delivery_tracker.hpp"
#include "backupy/controlplane/server.hpp"
#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/log.hpp"
#include "cp_metrics.hpp"
#include "key_wrapping.hpp"
#include "object_store.hpp"
#include "run_store.hpp"
#include "self_update_requests.hpp"

namespace backupy::controlplane::detail {

class Catalog;

// WebSocket close codes the server uses.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kClosePolicy = 1008;

// One authenticated agent connection (implemented in agent_session.cpp).
class AgentSession {
 public:
  virtual ~AgentSession() = default;
  virtual const std::string& agent_id() const = 0;
  virtual const std::string& session_id() const = 0;
  // Sends ConfigUpdate if the session has registered and config differs (serialized bytes) from
  // the configuration it last sent; returns whether it did.
  virtual bool push_config_if_changed(const backup::v1::AgentConfig& config) = 0;
  // True once Register was answered and until the session starts closing.
  virtual bool registered() const = 0;
  // Stamps and queues a server command (RunBackup, CancelJob) with correlation id
  // "<kind>-<session prefix>-<n>" and returns that id; nullopt if not registered() (nothing
  // is sent then).
  virtual std::optional<std::string> send_command(std::string_view kind,
                                                  backup::v1::Envelope envelope) = 0;
  // Starts the closing handshake (after already queued messages); idempotent.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

struct ServerState {
  core::Logger log{"control-plane"};
  ServerOptions options;
  std::shared_ptr<const ServerConfig> config;
  AgentRegistry registry;
  DeliveryLedger ledger;
  // The live session of each agent id (at most one).
  std::map<std::string, std::weak_ptr<AgentSession>, std::less<>> sessions;
  // TCP connections still open (TLS/HTTP stage or WebSocket), for a prompt shutdown.
  std::size_t open_connections = 0;
  bool stopping = false;
  // GET /metrics (before runs: the run store counts into it).
  CpMetrics metrics{version()};
  // The catalog (catalog_file), opened by the Server; null for a configuration without one
  // (unit tests). Declared before the stores that write into it.
  std::unique_ptr<Catalog> catalog;
  // Runs dispatched through the operator API or the schedule (persisted in the catalog).
  RunStore runs{nullptr, &metrics};
  // What each agent last reported (GET /v1/agents).
  AgentStatusBoard agent_status;
  // Self-update requests sent through the operator API and the agents' answers (memory only).
  SelfUpdateRequests self_updates;
  // Derived from the catalog's master key (key_wrapping.hpp); null without one (configurations
  // built in code without a catalog or master_key): then no AgentConfig carries key_wrapping.
  std::unique_ptr<KeyWrappingKey> key_wrapping;
  // Agents whose latest Register negotiated agent_cron.v1: they schedule their own jobs, so
  // the server's schedule skips them, also while they are offline (loaded from the catalog).
  std::set<std::string, std::less<>> agent_cron_agents;
  // Blocking storage chores (object checks, retention deletions); owned by the Server, which
  // destroys it before the io_context. Never null while the server exists.
  BackgroundWorker* background = nullptr;
  // Runs whose stored object is being checked right now (storage_maintenance.cpp).
  std::set<std::string, std::less<>> object_checks_in_flight;
  // Re-reads options.config_file and applies it, as SIGHUP does (POST /v1/config/reload);
  // set by the Server. Runs on the server thread.
  std::function<ReloadResult()> reload;
  // Used for decryption tokens when the configuration names no token_signing_key_file:
  // random, generated once per process, so tokens do not survive a restart.
  std::vector<std::uint8_t> generated_signing_key;

  // Base URL of the listener for local storage without storage.public_url:
  // "https://<listen host>:<bound port>" (set once the listener is bound).
  std::string default_public_url;

  // HMAC key of local object URLs: storage.url_signing_key if configured, else derived from
  // signing_key() (so URLs survive a restart exactly when decryption tokens do).
  std::vector<std::uint8_t> object_url_key(const ServerConfig& config) const;
  // The object store of config.storage, or nullptr if storage is not configured.
  std::unique_ptr<ObjectStore> object_store(const ServerConfig& config) const;

  // The live session of agent_id, or nullptr.
  std::shared_ptr<AgentSession> live_session(std::string_view agent_id) const;
  // The configured token signing key, else generated_signing_key.
  std::span<const std::uint8_t> signing_key() const;

  // Makes session the live one for its agent; an older live session is closed with 1000
  // "replaced by a newer session".
  void attach(const std::shared_ptr<AgentSession>& session);
  // Forgets session if it is still the live one for its agent.
  void detach(const AgentSession& session);

  // Records the scheduling mode agent_id negotiated at Register (memory and catalog).
  void set_agent_cron(const std::string& agent_id, bool agent_cron);
  bool agent_cron(std::string_view agent_id) const { return agent_cron_agents.contains(agent_id); }
  // The AgentConfig to send agent_id's session (key_wrapping_key.hpp published_config).
  backup::v1::AgentConfig published_config(const backup::v1::AgentConfig& configured) const;
};

// Counts one open connection for as long as it lives.
class ConnectionSlot {
 public:
  explicit ConnectionSlot(ServerState& state) : state_(state) { ++state_.open_connections; }
  ~ConnectionSlot() { --state_.open_connections; }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

 private:
  ServerState& state_;
};

}  // namespace backupy::controlplane::detail
