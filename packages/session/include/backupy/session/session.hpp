#pragma once
// The agent's side of the control channel: one persistent WebSocket session.
//
// State machine (control thread only):
//   disconnected --dial--> connecting --open--> registering --RegisterAck--> online
//        ^                                                                     |
//        +---------------- closed (backoff 1 s doubling to 60 s, +/-20 %) -----+
// - Register is the first frame we send; RegisterAck must be the first frame
//   we receive (anything else is a protocol error: close and reconnect).
// - Heartbeats carry host metrics every heartbeat_interval_sec (default 30 s).
// - Ping -> Ack{correlation_id, accepted=true}.
// - RegisterAck/ConfigUpdate snapshots go to the ConfigManager; a rejection is
//   answered with Ack{accepted=false, reason}.
// - Durable results stream from the outbox (OutboxPump) alongside live traffic.
// - Bad input (malformed protobuf, text frames, agent->server messages,
//   unknown members) is logged and skipped; oversized frames close with 1009.
// - Backoff resets after a connection has been online for a healthy minute;
//   authentication failures (401/403) retry at the cap.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backupy/config/bootstrap.hpp"
#include "backupy/hostinfo/identity.hpp"
#include "backupy/hostinfo/metrics_sampler.hpp"
#include "backupy/net/backoff.hpp"
#include "backupy/session/command_handler.hpp"
#include "backupy/session/config_manager.hpp"
#include "backupy/session/session_status.hpp"
#include "backupy/state/outbox.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::session {

struct SessionOptions {
  config::BootstrapConfig bootstrap;
  std::string agent_version;
  hostinfo::HostIdentity identity;
  std::vector<std::string> capabilities;
  // Register.docker_version: asked each time a Register is built, so a reconnect carries
  // what discovery learned since (GET /version); "" or unset = no Docker daemon known.
  std::function<std::string()> docker_version;
  std::chrono::milliseconds register_timeout{30000};
  std::chrono::milliseconds healthy_after{60000};
  std::chrono::seconds default_heartbeat{30};
  net::BackoffPolicy backoff;
  // Called on the control thread after every connection-state change (e.g. to
  // refresh the status file at once instead of at its next tick).
  std::function<void()> on_state_change;
  // Called on the control thread once RegisterAck was handled (its config applied), with the
  // server's capability strings: the app switches agent-side scheduling on or off by them.
  std::function<void(const std::vector<std::string>& server_capabilities)> on_registered;
};

class Session {
 public:
  Session(boost::asio::io_context& io, SessionOptions options, ConfigManager& config,
          state::Outbox& outbox, hostinfo::MetricsSampler& metrics, CommandHandler& commands);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  // Closes the connection (1001 going away) and calls done when it is closed
  // or after grace, whichever is first. No reconnect afterwards.
  void stop(std::chrono::milliseconds grace, std::function<void()> done);

  // Thread-safe: there is something new in the outbox.
  void wake_outbox();
  // Control thread: the job ids currently running (for heartbeats).
  void set_active_jobs_provider(std::function<std::vector<std::string>()> provider);
  // Control thread: AgentMetrics.queue_depth, the runs waiting in the disk-backed queue. Without
  // a provider the heartbeat reports the outbox depth (what a v1 server saw before).
  void set_queue_depth_provider(std::function<std::size_t()> provider);

  SessionStatus status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::session
