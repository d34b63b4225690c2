#pragma once
// The agent's Prometheus metrics (docs/metrics.md): one registry per process, narrow
// recording functions for the call sites, and the text exposition format 0.0.4 for
// GET /metrics. prometheus-cpp stays behind this header.
//
// Threads: every function may be called from any thread (runs finish on worker threads,
// health results and session events arrive on the control thread, scrapes are served on
// the control thread). prometheus-cpp's metrics are atomic and its families lock; the
// per-job bookkeeping here has its own mutex.
//
// Figures that describe the current state (queue depth, outbox depth, spool bytes, the
// drop counters owned by other components) are not tracked incrementally: the caller reads
// them when a scrape arrives and hands them to expose(), so they cannot drift from the
// state they describe.
//
// Labels carry only ids from the config (job, target and check ids) and values from fixed
// sets; never names of databases, URLs, keys or error texts. Series of jobs and checks that
// leave the config are removed (retain_jobs / retain_checks), so a deleted job does not keep
// a stale last-success time that an alert would fire on forever.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace backupy::metrics {

// The Content-Type of expose()'s text.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// Values of the connection_state label, one series each (1 for the current state).
inline constexpr std::string_view kConnectionStates[] = {"disconnected", "connecting",
                                                         "registering", "online", "stopping"};

enum class RunStatus { success, failed, cancelled };
std::string_view to_string(RunStatus status);

// A run that reached a terminal state.
struct FinishedRun {
  std::string job_id;
  std::string target_id;
  RunStatus status = RunStatus::failed;
  double duration_seconds = 0;     // from the start of the attempt that finished it
  std::uint64_t input_bytes = 0;   // dump bytes before compression (0 if the dump never ended)
  std::uint64_t stored_bytes = 0;  // blob bytes uploaded (0 unless success)
  std::uint64_t finished_at_ms = 0;
};

class AgentMetrics {
 public:
  AgentMetrics(std::string_view version, std::string_view commit);
  ~AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  void set_config_version(std::uint64_t version);
  // state: one of kConnectionStates (anything else is ignored).
  void set_connection_state(std::string_view state);
  // The session's cumulative count of connection attempts after the first; the counter
  // advances by the difference (a counter never goes back).
  void observe_reconnects(std::uint64_t total);

  void run_finished(const FinishedRun& run);
  // PUT attempts beyond the first within one upload (upload::UploadOutcome::attempts - 1).
  void upload_retried(std::uint64_t retries);

  void health_check_result(const std::string& check_id, bool up, double duration_seconds);
  void set_discovered_containers(std::uint64_t count);

  // Removes the series of jobs / checks not listed (the config changed).
  void retain_jobs(std::span<const std::string> job_ids);
  void retain_checks(std::span<const std::string> check_ids);

  // Figures of the current state, computed at scrape time.
  struct State {
    std::uint64_t queue_depth = 0;
    std::uint64_t outbox_depth = 0;
    std::uint64_t spool_bytes = 0;
    std::uint64_t log_events_rate_limited = 0;   // LogForwarder::rate_limited_total
    std::uint64_t log_events_queue_dropped = 0;  // LogForwarder::queue_dropped_total
    std::uint64_t outbox_dropped = 0;            // Outbox::dropped_total
  };
  // Everything in the Prometheus text exposition format 0.0.4.
  std::string expose(const State& state);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::metrics
