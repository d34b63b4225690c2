#pragma once
// The pure, Beast-free parts of an upload: message wording, URL display, S3 error bodies,
// status classes. Kept out of put_file.cpp so that they compile in a second and are unit-tested.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backupy/net/url.hpp"

namespace backupy::upload::detail {

// scheme://host[:port]/path: the URL without its query (the presigned signature) or fragment.
std::string display_url(const net::Url& url);
// The same for a URL that may not parse: everything before the first '?' or '#', without a
// user:password@ in front of the host.
std::string display_url(std::string_view text);

// "90s", "250ms": exact, never rounded (the control channel's wording).
std::string format_duration(std::chrono::milliseconds duration);

// "host:port", with brackets around IPv6 literals.
std::string host_port(std::string_view host, std::uint16_t port);

// "5 GiB", "1 MiB", "100 bytes": binary units only when exact.
std::string format_bytes(std::uint64_t bytes);

// 127.0.0.0/8, ::1, "localhost" (and its subdomains, RFC 6761).
bool is_loopback_host(std::string_view host);

// The <Code> of an S3 XML error body ("SignatureDoesNotMatch"), empty if none.
std::string s3_error_code(std::string_view body);

// "http 403 (SignatureDoesNotMatch)", "http 500 Internal Server Error".
std::string http_failure(int status, std::string_view reason, std::string_view body);

// 408, 429 and 5xx are worth another attempt.
bool retryable_status(int status);

// Retry-After as delta-seconds ("1", " 30 "); HTTP dates are ignored (nullopt).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// A quoted ETag without its quotes.
std::string unquote_etag(std::string_view etag);

}  // namespace backupy::upload::detail
