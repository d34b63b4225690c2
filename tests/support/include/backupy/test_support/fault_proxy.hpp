#pragma once
// A fault-injecting reverse HTTP proxy (tests/support/node/fault_proxy.js) for upload tests.
//
// Every request consumes the next step of the plan; once the plan is exhausted requests pass
// to the target. Steps: "pass"; an HTTP status such as "500", "429", "403" (answered after the
// whole body was read, with an S3-style XML error, nothing forwarded); "503:retry-after=1"
// (idem plus Retry-After: 1); "reset-after:N" (forward nothing, reset the client connection
// after N body bytes); "stall" (read the request, never answer, until the client gives up).
//
// Each finished request is logged as one JSON object:
//   {seq, method, path, content_length, transfer_encoding, content_type, action,
//    body_bytes_received, status, outcome}
// path is without the query string (presigned signatures never reach the log); content_length
// is a number or null, transfer_encoding/content_type a string or null, status what the client
// got (null if nothing), outcome "responded" | "reset" | "client-closed".
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backupy/test_support/log_watcher.hpp"
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::test_support {

class FaultProxy {
 public:
  // target: "http://127.0.0.1:PORT" (e.g. S3Server::endpoint()). Waits until it listens.
  FaultProxy(std::string target, std::vector<std::string> plan);
  ~FaultProxy();  // SIGTERM, then SIGKILL
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:N"
  // url with its target endpoint prefix replaced by this proxy's (path and query kept).
  // Throws std::invalid_argument if url does not start with the target.
  std::string via(const std::string& url) const;

  // The requests logged so far, ordered by seq (arrival order).
  std::vector<Json> requests();
  // Waits until at least count requests were logged (a request is logged when it is over,
  // e.g. when a stalled client hung up); returns requests() either way.
  std::vector<Json> wait_for_requests(std::size_t count, std::chrono::milliseconds timeout);
  // Everything the proxy wrote to stdout and stderr (for "secret never appears" checks).
  std::string raw_output();

 private:
  TempDir dir_;
  std::string target_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<LogWatcher> log_;
  int port_ = 0;
};

}  // namespace backupy::test_support
