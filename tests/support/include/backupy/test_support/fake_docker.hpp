#pragma once
// A fake Docker Engine API for the DOCKER_EXEC tests: runs node/fake_docker.js
// (see the top of that file) on a unix socket in a private temp directory. It
// is a test double — no Docker engine can run here — that speaks the real wire
// format (/_ping, /version, exec create/start/inspect, 8-byte-header frames)
// and container list/inspect answers from JSON fixtures, a never-ending /events
// stream with test-only admin routes to inject events and change the running set,
// and runs each exec's command locally, with PATH from `image_path` overridden
// by the exec's Env, and logs every exec's Cmd and Env for assertions.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::test_support {

struct FakeDockerOptions {
  std::set<std::string> containers{"db1"};  // known, running containers
  std::set<std::string> stopped;            // known but not running (409)
  std::string api_version = "1.43";
  bool ping_reports_version = true;  // API-Version header on /_ping
  int start_status = 101;            // 101 (hijacked) or 200 for exec start
  bool chunked = false;              // JSON answers chunked instead of Content-Length
  std::string image_path = "/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin";
  // Discovery: a directory with containers.json (GET /containers/json) and
  // inspect/<id>.json (GET /containers/<id>/json; 404 when missing). Empty:
  // no containers listed.
  std::filesystem::path fixtures;
  // Where to listen; empty: docker.sock in a private temp directory. A test
  // of "the socket appears later" passes a path it already gave the client.
  std::filesystem::path socket;
};

struct FakeExec {
  std::string container;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
};

class FakeDockerEngine {
 public:
  // Starts the fake and waits (up to 20 s) for its socket; throws
  // std::runtime_error with its stderr otherwise.
  explicit FakeDockerEngine(FakeDockerOptions options = {});
  ~FakeDockerEngine();  // SIGTERM, SIGKILL after 2 s
  FakeDockerEngine(const FakeDockerEngine&) = delete;
  FakeDockerEngine& operator=(const FakeDockerEngine&) = delete;

  const std::filesystem::path& socket() const { return socket_; }
  // Every exec created so far, in order (from the fake's JSON-lines log).
  std::vector<FakeExec> execs() const;

  // The fake's test-only admin routes (see the top of fake_docker.js); each
  // throws std::runtime_error if the fake does not answer 200.
  // Sends a container event (start adds id to the running set, die/destroy
  // remove it) to the /events subscribers; returns how many received it.
  int inject_event(const std::string& action, const std::string& id);
  // The ids GET /containers/json lists from now on, in order.
  void set_running(const std::vector<std::string>& ids);
  // Ends every /events stream (a daemon restart); returns how many.
  int close_event_streams();
  // {"subscribers", "event_requests", "running"}.
  nlohmann::json state() const;
  // Polls state() until pred holds (true) or timeout passes (false).
  bool wait_for_state(const std::function<bool(const nlohmann::json&)>& pred,
                      std::chrono::milliseconds timeout) const;

 private:
  TempDir dir_;
  std::filesystem::path socket_;
  std::filesystem::path log_;
  std::unique_ptr<Process> process_;
};

}  // namespace backupy::test_support
