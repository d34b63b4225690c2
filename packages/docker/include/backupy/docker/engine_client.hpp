#pragma once
// A small, blocking client of the Docker Engine API over its unix socket
// (BACKUPY_DOCKER_SOCKET). Used from worker threads: the DOCKER_EXEC dump
// strategy (drivers) and container discovery (list, inspect, version, events).
//
// Wire facts it relies on (Engine API reference, v1.24+):
//  - the API version is negotiated once: GET /_ping answers with an
//    "API-Version" header (GET /version's "ApiVersion" as a fallback); the
//    client uses min(server, kMaxApiVersion) and prefixes every path with
//    /v<version>;
//  - an exec is POST /containers/{id}/exec {Cmd, Env, AttachStdout,
//    AttachStderr, Tty:false} → {"Id"}, then POST /exec/{id}/start
//    {Detach:false, Tty:false} sent with "Connection: Upgrade" and
//    "Upgrade: tcp": the daemon answers 101 (or 200) and the connection
//    becomes a raw stream of frames, each an 8-byte header
//    [stream(1=stdout,2=stderr), 0, 0, 0, big-endian uint32 length] + payload;
//  - the exit code comes from GET /exec/{id}/json {"ExitCode", "Running"};
//  - discovery: GET /containers/json (running containers only without
//    ?all=1) → [{"Id", ...}], GET /containers/{id}/json → ContainerInspect
//    (404 once the container is gone), GET /version → {"Version", ...};
//  - events: GET /events?filters={"type":["container"],"event":[...]} answers
//    200 at once and then streams, chunked and without end, one JSON
//    EventMessage per line ({"Type","Action","Actor":{"ID",...},"time",...};
//    API < 1.22 daemons used "status"/"id", still sent alongside).
// Secrets go into the exec's Env, never its Cmd (the Cmd is visible to anyone
// who can `docker inspect` or `ps` inside the container).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

namespace backupy::docker {

// One precise line: what was asked, of which socket, and what went wrong
// (connection refused, HTTP status + the daemon's "message", bad frame).
class DockerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The newest Engine API version this client speaks; older daemons are used at
// their own version (>= kMinApiVersion).
inline constexpr std::string_view kMaxApiVersion = "1.43";
inline constexpr std::string_view kMinApiVersion = "1.24";

struct ExecSpec {
  std::string container_id;
  std::vector<std::string> cmd;  // argv inside the container; no secrets
  std::vector<std::string> env;  // "NAME=value"; where secrets go
};

// One container event of the daemon's event stream (see container_events.hpp).
struct ContainerEvent {
  std::string action;        // "start", "die", "destroy"
  std::string container_id;  // Actor.ID
};

struct ExecOutput {
  // Called on the calling thread with each demultiplexed chunk, in order;
  // blocking in a callback is backpressure on the daemon's stream.
  std::function<void(std::span<const char>)> on_stdout;
  std::function<void(std::span<const char>)> on_stderr;
};

class EngineClient {
 public:
  // stop: once requested, every request of this client (but exec(), which
  // takes its own) is cut short with a DockerError "cancelled": a worker
  // thread blocked on a hung daemon ends as soon as the agent stops.
  explicit EngineClient(std::filesystem::path socket,
                        std::chrono::seconds request_timeout = std::chrono::seconds(30),
                        std::stop_token stop = {});

  const std::filesystem::path& socket() const { return socket_; }

  // The negotiated version ("1.43"); negotiates on first use. Throws DockerError.
  std::string api_version();

  // GET <path> (path without the /v prefix, e.g. "/containers/json"): the
  // body of a 2xx answer. Throws DockerError naming the status and message.
  std::string get(const std::string& path);

  // The ids of the running containers (GET /containers/json). Throws DockerError.
  std::vector<std::string> running_container_ids();

  // GET /containers/{id}/json: the ContainerInspect body, or std::nullopt when
  // the daemon answers 404 (the container went away since it was listed).
  // Throws DockerError for anything else, including an id that is not one.
  std::optional<std::string> inspect_container(const std::string& id);

  // The daemon's version ("24.0.7", GET /version "Version") for
  // Register.docker_version. Throws DockerError.
  std::string daemon_version();

  // Subscribes to the container events start, die and destroy (GET /events
  // with filters) and blocks, calling on_subscribed once the daemon accepted
  // the subscription (its 200 head: from then on no event is missed) and
  // on_event for each event, in order, on the calling thread. Returns once
  // stop is requested (the connection is shut down, so this is prompt).
  // Throws DockerError when the daemon cannot be reached, refuses the
  // request, sends something that is not an event, or ends the stream (a
  // daemon restart): the caller reconnects. The request_timeout bounds the
  // answer's head only; the stream may be silent for days.
  void watch_container_events(const std::function<void()>& on_subscribed,
                              const std::function<void(const ContainerEvent&)>& on_event,
                              std::stop_token stop);

  // Runs spec to completion: create, start (attached), demultiplex, then
  // inspect. Returns the exit code. Once stop is requested the connection is
  // shut down and std::nullopt is returned at once; the Engine API has no way
  // to signal an exec, so the process in the container is not killed: the
  // daemon only stops relaying its output.
  // The request_timeout bounds each request, not the length of the stream.
  std::optional<int> exec(const ExecSpec& spec, const ExecOutput& output, std::stop_token stop);

 private:
  std::filesystem::path socket_;
  std::chrono::seconds request_timeout_;
  std::stop_token stop_;
  std::string version_;  // empty until negotiated
};

}  // namespace backupy::docker
