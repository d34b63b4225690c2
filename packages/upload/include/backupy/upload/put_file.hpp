#pragma once
// Upload of one finished spool file to a presigned S3 PUT URL (v1 contract: one PUT,
// Content-Type application/octet-stream, a definite Content-Length; S3 refuses chunked
// bodies with 411).
//
// Synchronous, for a worker thread: put_file() runs its own io_context and returns when the
// upload succeeded, failed for good, or was cancelled. The control thread never calls it.
//
// Decisions:
//  - Transport: https:// with the system CAs plus ca_file (BACKUPY_CA_FILE), TLS >= 1.2, SNI
//    and host name verification (the same policy as the control channel, net/detail/
//    tls_client.hpp). Plain http:// is allowed only to a loopback host (127.0.0.0/8, ::1,
//    "localhost": a local S3 such as s3rver or MinIO on the same machine, where TLS protects
//    nothing) or when allow_insecure is set (an operator's S3 on a LAN). Anything else is
//    refused before a connection is made: a presigned URL is a bearer credential.
//  - Proxy: HTTPS_PROXY/NO_PROXY (net::proxy_for) apply to every upload URL, http:// included,
//    through a CONNECT tunnel, as for the control channel.
//  - Retries: connect errors, resets, timeouts and stalls, HTTP 408, 429 and 5xx, up to
//    max_attempts, with exponential backoff and jitter; Retry-After (seconds) replaces the
//    backoff delay, capped at backoff.cap. Other statuses (403 SignatureDoesNotMatch, 400...),
//    certificate failures, a refused proxy login (407), an unreadable file, an expired URL or
//    an oversized file end the upload at once.
//  - Secrets: the URL's query string (the signature) never appears in outcome.error or a log
//    line: URLs are printed as scheme://host[:port]/path and every message also goes through
//    core::redact().
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>

#include "backupy/net/backoff.hpp"
#include "backupy/net/proxy.hpp"

namespace backupy::upload {

struct UploadRequest {
  std::string presigned_put_url;    // secret-bearing: never log or echo its query string
  std::uint64_t expires_at_ms = 0;  // wall clock, ms since the epoch; 0 = unknown
  std::filesystem::path file;       // the spool file; its size is the Content-Length
};

struct UploadPolicy {
  unsigned max_attempts = 5;
  // Exponential with jitter between attempts.
  net::BackoffPolicy backoff{.initial = std::chrono::seconds(1), .cap = std::chrono::seconds(60)};
  // Resolve + TCP + proxy CONNECT + TLS handshake.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // No progress (bytes written or read) for this long = stalled; the attempt is retried.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Single-PUT limit of S3 (multipart comes later).
  std::uint64_t max_object_bytes = 5ull << 30;
  // Extra trust anchors (BACKUPY_CA_FILE), added to the system store.
  std::optional<std::string> ca_file;
  // Allows plain http:// to a non-loopback host (an operator's S3 on a LAN).
  bool allow_insecure = false;
  // HTTPS_PROXY / NO_PROXY lookup; empty = no proxy.
  net::EnvLookup env;
  // Wall clock in ms since the epoch, for expires_at_ms; empty = core::now_ms.
  std::function<std::uint64_t()> now_ms;
  // Waits between attempts; empty = an interruptible sleep that cancellation cuts short.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Backoff jitter source in [0, 1) (tests pin it); empty = a seeded PRNG.
  std::function<double()> uniform01;
};

struct UploadOutcome {
  bool ok = false;
  bool cancelled = false;    // stop was requested
  unsigned attempts = 0;     // PUTs started (0 when refused before the first)
  int last_http_status = 0;  // status of the last response, 0 if none arrived
  std::string error;         // redacted, precise; empty on success
  std::string etag;          // the object's ETag on success, without quotes
};

// Called before every retry with the request in use; may replace presigned_put_url and
// expires_at_ms (the control plane re-sent RunBackup with fresh credentials) and then returns
// true. The file must stay the same.
using CredentialRefresh = std::function<bool(UploadRequest& request)>;

// Uploads request.file. on_progress (optional) reports body bytes handed to the socket so far,
// on the calling thread; it restarts from 0 on a retry. Never throws for I/O or HTTP failures.
UploadOutcome put_file(const UploadRequest& request, const UploadPolicy& policy,
                       std::stop_token stop = {},
                       std::function<void(std::uint64_t sent)> on_progress = {},
                       const CredentialRefresh& refresh = {});

}  // namespace backupy::upload
