#pragma once
// One small HTTPS request (GET/POST/...) with a JSON-sized answer or a body streamed to a sink:
// the operator CLI's client for the control plane's API and for presigned download URLs.
// put_file() stays the uploader; this shares its transport policy (net/detail/tls_client.hpp:
// TLS >= 1.2, system CAs plus ca_file, SNI, host name verification; plain http:// only to a
// loopback host) but not its retries: an operator sees the first failure, precisely.
//
// Synchronous: runs a private io_context and returns when the exchange ended. No proxy
// support (operators reach their own control plane directly).
//
// Secrets: header values (Authorization) are never part of an error text, and URLs appear
// without their query string (a presigned URL's signature).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backupy::upload {

struct HttpsRequest {
  std::string method = "GET";
  std::string url;  // https://..., or http:// to a loopback host
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent with Content-Type application/json unless headers name another
};

struct HttpsOptions {
  std::optional<std::string> ca_file;                                   // extra trust anchors (PEM)
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};  // resolve .. TLS
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     // no progress
  std::uint64_t max_body_bytes = 32 * 1024 * 1024;                      // an answer kept in memory
  // A 2xx body streamed to the sink: refused before any of it is read when its Content-Length
  // is larger, aborted as soon as it grows larger (chunked or unknown length): Failure::too_large.
  std::optional<std::uint64_t> max_sink_bytes;
};

struct HttpsResponse {
  enum class Failure {
    none,             // an HTTP answer arrived (any status)
    bad_url,          // unparsable URL, or plain http:// to a non-loopback host
    resolve,          // the host name does not resolve
    connect_refused,  // nothing listens there
    connect,          // other connect errors
    tls_verify,       // the server's certificate is not trusted (or not for this host)
    tls,              // other TLS failures, and an unloadable ca_file
    timeout,          // connect_timeout or idle_timeout passed
    io,               // the connection broke mid-exchange
    too_large,        // an in-memory answer over max_body_bytes, a streamed one over max_sink_bytes
    sink,             // the sink refused a chunk (its own error is the caller's to report)
  };
  Failure failure = Failure::none;
  std::string error;  // one precise line when failure != none
  int status = 0;
  std::string body;  // the answer's body unless it went to the sink
  std::uint64_t body_bytes = 0;
  std::optional<std::uint64_t> content_length;
  bool ok() const { return failure == Failure::none; }
};

// Receives a 2xx answer's body in order; returning false aborts the exchange (Failure::sink).
using BodySink = std::function<bool(std::string_view chunk)>;

// Never throws for network, TLS or HTTP failures. With a sink, only 2xx bodies go to it; other
// answers (error documents) land in response.body.
HttpsResponse https_request(const HttpsRequest& request, const HttpsOptions& options,
                            const BodySink& sink = {});

// The URL as error texts show it: scheme://host[:port]/path, without the query (a presigned
// signature), fragment or user:password@.
std::string display_url(std::string_view url);

}  // namespace backupy::upload
