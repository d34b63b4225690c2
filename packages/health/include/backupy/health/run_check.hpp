#pragma once
// One health check, blocking, on the caller's (worker) thread: HTTP/HTTPS GET or a TCP
// connect, per HealthCheckSpec. Never throws for network failures: they become
// HealthCheckResult{ok=false, error=one redacted line}.
//
// Rules (docs/configuration.md "Health checks"):
// - timeout_sec 0 -> options.default_timeout (10 s), capped at the interval when one is set;
//   it bounds the TCP connect and, for HTTP, the connect (resolve..TLS) and every silence.
// - HTTP/HTTPS: ok when the status equals expected_status if set, else any 2xx or 3xx
//   (redirects are not followed). TLS is verified (system CAs + ca_file, host name).
//   Plain http:// is accepted only to a loopback host (the transport policy of
//   upload::https_request); other http:// targets fail with a precise error: use https://
//   or a TCP_CHECK.
// - TCP_CHECK: target "host:port" ([v6]:port); ok when a connection is established.
// - Errors never carry a URL's query string or userinfo (core::redact over the transport's
//   query-free texts).
#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include "backup/v1/agent.pb.h"

namespace backupy::health {

struct CheckOptions {
  std::optional<std::string> ca_file;  // BACKUPY_CA_FILE: extra trust anchors for HTTPS
  std::chrono::seconds default_timeout{10};
  // Wall clock for ts_ms (tests inject their own).
  std::chrono::system_clock::time_point (*now)() = [] { return std::chrono::system_clock::now(); };
};

// The effective timeout for a spec (see above).
std::chrono::seconds effective_timeout(const backup::v1::HealthCheckSpec& spec,
                                       const CheckOptions& options);

// stop: a TCP connect gives up at once (error "cancelled"); an HTTP exchange runs to its
// timeout (the transport has no cancellation).
backup::v1::HealthCheckResult run_check(const backup::v1::HealthCheckSpec& spec,
                                        const CheckOptions& options, std::stop_token stop = {});

}  // namespace backupy::health
