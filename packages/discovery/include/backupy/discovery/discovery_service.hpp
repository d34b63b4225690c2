#pragma once
// Docker discovery as a background service (docs/architecture.md, "Discovery"):
// when to run a discover() pass, and keeping the daemon's event stream open.
//
// Two worker threads, so that nothing here ever blocks the agent's control
// thread:
//  - the pass thread runs a pass at start-up, then whenever one is due: a
//    container start/die/destroy event was seen and `debounce` passed
//    without another one (a `docker compose up` of ten containers is one
//    report, not ten), but at most `max_delay` after the first of a burst (a
//    container in a restart loop does not postpone the report for ever);
//    and `interval` after the last pass (hourly) in any case;
//  - the event thread blocks on GET /events; when the stream cannot be
//    opened or ends (daemon restart, socket missing) it reconnects with
//    backoff (1 s doubling to 60 s, ±20 %), and once it is subscribed again
//    it asks for a pass at once: events may have been missed meanwhile.
// Every pass also reads the daemon's version (GET /version) for
// Register.docker_version.
//
// Failure handling: an unreachable daemon or missing socket is logged once
// at warn with the precise reason (socket path, request, errno text), not at
// every retry; "reachable again" is logged at info. A failed pass sends no
// report (an empty one would tell the control plane the databases are gone).
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "backup/v1/agent.pb.h"

namespace backupy::docker {
class EngineClient;
}

namespace backupy::discovery {

struct DiscoveryServiceOptions {
  std::filesystem::path socket;                 // BACKUPY_DOCKER_SOCKET
  std::chrono::milliseconds debounce{2000};     // quiet time after the last event
  std::chrono::milliseconds max_delay{30000};   // from the first event of a burst
  std::chrono::milliseconds interval{3600000};  // between passes without events
  std::chrono::milliseconds reconnect_initial{1000};
  std::chrono::milliseconds reconnect_cap{60000};
  std::chrono::seconds request_timeout{30};
};

class DiscoveryService {
 public:
  // Called on the pass thread with each successful pass's report; it must
  // not block (the agent posts it to its io_context).
  using ReportHandler = std::function<void(backup::v1::DiscoveryReport)>;

  DiscoveryService(DiscoveryServiceOptions options, ReportHandler on_report);
  ~DiscoveryService();  // stop()
  DiscoveryService(const DiscoveryService&) = delete;
  DiscoveryService& operator=(const DiscoveryService&) = delete;

  // Starts both threads (once).
  void start();
  // Cancels any request in flight (its socket is shut down) and joins both
  // threads: prompt, whatever the daemon does. Idempotent.
  void stop();

  // The daemon's version ("24.0.7") from the latest pass that reached it;
  // "" until one did. Thread-safe.
  std::string daemon_version() const;
  // Waits until the start-up pass has finished (reached the daemon or not),
  // at most timeout; true if it has. The agent waits briefly for it so that
  // its first Register can carry docker_version.
  bool wait_for_first_pass(std::chrono::milliseconds timeout);

 private:
  using Clock = std::chrono::steady_clock;

  void pass_loop(std::stop_token stop);
  void event_loop(std::stop_token stop);
  void run_pass(docker::EngineClient& client, std::stop_token stop, const char* reason);
  // A container event: a pass after the debounce.
  void request_debounced_pass();
  // Re-subscribed after a loss: a pass now.
  void request_pass_now();
  void note_unreachable(const std::string& reason);
  void note_reachable(const std::string& version);

  DiscoveryServiceOptions options_;
  ReportHandler on_report_;

  mutable std::mutex mutex_;
  std::condition_variable_any wake_;
  bool requested_ = false;           // a pass is due at requested_due_
  Clock::time_point burst_started_;  // first event of the pending burst
  Clock::time_point requested_due_;
  bool first_pass_done_ = false;
  bool unreachable_ = false;  // logged once per outage
  bool ever_reached_ = false;
  std::string version_;

  std::stop_source stop_;
  std::jthread pass_thread_;
  std::jthread event_thread_;
};

}  // namespace backupy::discovery
