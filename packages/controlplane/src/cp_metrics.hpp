#pragma once
// The control plane's Prometheus metrics (private to the package): one registry per server,
// narrow counting functions for the call sites (one line each), and the text exposition
// format 0.0.4 for GET /metrics. prometheus-cpp stays behind this header.
//
// Gauges that describe the current state (agents configured/connected, active runs) are not
// tracked incrementally: the caller computes them when a scrape arrives and hands them to
// expose(), so they cannot drift from the state they describe.
//
// Every metric is a count or a state figure: no agent ids, keys, tokens, URLs or job names
// appear in names or labels, and label values come from fixed sets (cardinality is bounded).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "run_store.hpp"

namespace backupy::controlplane::detail {

// The Content-Type of expose()'s text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class CpMetrics {
 public:
  // version: the build_info label.
  explicit CpMetrics(std::string_view version);
  ~CpMetrics();
  CpMetrics(const CpMetrics&) = delete;
  CpMetrics& operator=(const CpMetrics&) = delete;

  // A WebSocket agent session was established (after authentication and the upgrade).
  void session_opened();
  // A connection to the agents' endpoint or a session was refused or ended for a protocol
  // reason: "missing_authorization", "malformed_authorization", "unknown_key",
  // "not_websocket", "shutting_down", "register_timeout", "protocol_violation".
  void session_rejected(std::string_view reason);
  // One frame from an agent: its payload name (wire::payload_name), "text" or "malformed".
  void message_received(std::string_view type);
  void run_created(RunTrigger trigger);
  // A run reached a finished status (counted once per finish; a resent run can finish again).
  void run_finished(RunStatus status);
  // One operator API request answered with http_status (counted by class: "2xx" ... "5xx").
  void api_request(unsigned http_status);
  // Body bytes an upload to the embedded object store delivered.
  void object_bytes_received(std::uint64_t bytes);
  void config_reload(bool ok);

  // Figures of the current state, computed at scrape time.
  struct State {
    std::size_t agents_configured = 0;
    std::size_t agents_connected = 0;  // registered sessions
    std::size_t runs_active = 0;       // runs not finished
  };
  // Everything in the Prometheus text exposition format 0.0.4.
  std::string expose(const State& state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::controlplane::detail
