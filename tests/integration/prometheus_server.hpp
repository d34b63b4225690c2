#pragma once
// A real Prometheus server (Debian package `prometheus`, installed by scripts/setup.sh) for
// integration tests: it scrapes one static target every second, listens on a free loopback
// port, keeps its TSDB in a directory the test owns, and answers PromQL through its HTTP API.
//
// Startup: the constructor writes prometheus.yml, starts the binary and waits (bounded) until
// GET /-/ready answers 200. A port taken between pick_free_port() and prometheus's bind (tests
// run in parallel) is retried on a fresh port; any other failure throws std::runtime_error with
// the tail of prometheus's log. Readiness takes ~0.3 s here, a few seconds on a loaded machine.
// The destructor stops it (SIGTERM, SIGKILL after a grace period): RAII like every fixture.
//
// Prometheus 2.42 hands a new target list to its scrape manager only after a fixed 5 s
// throttle (not configurable in this version), so the first scrape comes ~5-6 s after start,
// whatever scrape_interval says. Start it early — before the agent — to overlap that wait.
//
// HTTP goes through the curl CLI, like the other fixtures' operator API calls.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "backupy/test_support/log_watcher.hpp"
#include "backupy/test_support/process.hpp"

namespace backupy::testing {

using test_support::CommandResult;
using test_support::Json;
using test_support::Process;

class PrometheusServer {
 public:
  // dir: created if missing; holds prometheus.yml, the TSDB and the log. scrape_target:
  // "host:port" of the /metrics endpoint to scrape (job name "backupy-agent").
  PrometheusServer(std::filesystem::path dir, std::string scrape_target);
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // GET /api/v1/query?query=promql: the `data.result` array of an instant vector query. Throws
  // std::runtime_error if the request fails or the API answers with an error status.
  Json query(const std::string& promql) const;
  // Polls query(promql) until pred(result) holds or timeout passes; returns the last result.
  Json wait_for(const std::string& promql, const std::function<bool(const Json&)>& pred,
                std::chrono::milliseconds timeout) const;
  // The last lines of prometheus's own log (for failure messages).
  std::string log_tail() const;

 private:
  // Starts prometheus on a fresh port; false if it could not bind (port taken), throws on any
  // other failure.
  bool start(std::chrono::steady_clock::time_point deadline);

  std::filesystem::path dir_;
  std::string scrape_target_;
  int port_ = 0;
  std::filesystem::path log_file_;  // of the current attempt
  std::unique_ptr<Process> process_;
};

// `promtool check metrics` with exposition on its stdin (a Prometheus text exposition): exit
// code 0 and nothing on stdout/stderr when it is well formed and passes promtool's lint rules.
CommandResult promtool_check_metrics(const std::string& exposition,
                                     const std::filesystem::path& scratch_dir);

// A plain HTTP GET with curl: status and body ("" and status 0 when nothing answered).
struct HttpReply {
  int status = 0;
  std::string body;
  std::string content_type;
};
HttpReply http_get(const std::string& url);

}  // namespace backupy::testing
