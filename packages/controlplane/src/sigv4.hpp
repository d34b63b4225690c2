#pragma once
// AWS Signature Version 4 query presigning for S3 (private to the package).
//
// presign_url() produces what `aws s3 presign` does: a GET or PUT URL valid for expires_sec,
// signed over the host header only with an UNSIGNED-PAYLOAD body, so the agent can stream the
// object without knowing its hash up front. Path-style (http://host/bucket/key, MinIO and most
// self-hosted S3) and virtual-host style (https://bucket.host/key, AWS) are both supported.
//
// S3 is the one SigV4 service that does not double-encode the path: the canonical URI is the
// object key URI-encoded once ('/' kept), and the URL carries exactly that path.
//
// The building blocks are exposed so that tests can check them against AWS's published vectors.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hmac.hpp"

namespace backupy::controlplane::sigv4 {

// "http(s)://host[:port]" with nothing after the authority but an optional "/".
struct Endpoint {
  std::string scheme;      // "http" or "https"
  std::string host;        // lowercase; an IPv6 literal keeps its brackets
  std::uint16_t port = 0;  // 0 = the scheme's default (an explicit default port is dropped too,
                           // because clients then send a Host header without it)
  bool host_is_ip = false;

  std::string authority() const;  // host[:port], the value of the Host header
};

// Parses an endpoint; nullopt with a reason in *error (never echoing the text's query).
std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error = nullptr);

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

struct PresignRequest {
  std::string method;  // "GET" or "PUT"
  Endpoint endpoint;
  bool path_style = true;
  std::string bucket;
  std::string key;  // the object key, unencoded ("agents/a/job/run-1.bkpy")
  std::string region;
  std::int64_t now_sec = 0;       // signing time, seconds since the epoch (UTC)
  std::uint32_t expires_sec = 0;  // 1 .. 604800 (SigV4's limit of 7 days)
};

// Inclusive limit of X-Amz-Expires.
inline constexpr std::uint32_t kMaxExpiresSec = 604800;

// The presigned URL; its query ends with X-Amz-Signature. Throws std::invalid_argument on an
// expires_sec outside 1..kMaxExpiresSec or an empty bucket/key.
std::string presign_url(const PresignRequest& request, const Credentials& credentials);

// ---------------------------------------------------------------- building blocks --

// RFC 3986 encoding as SigV4 wants it: A-Z a-z 0-9 - . _ ~ kept, everything else %XX
// (uppercase hex, UTF-8 bytes); '/' kept unless encode_slash.
std::string uri_encode(std::string_view text, bool encode_slash);
// "20130524T000000Z".
std::string amz_date(std::int64_t epoch_sec);
// Names and values URI-encoded ('/' too), sorted by encoded name then value, joined with '&'.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);
// headers: lowercase names with their values (trimmed here; sorted here).
struct CanonicalRequest {
  std::string text;
  std::string signed_headers;  // "host;x-amz-date"
};
CanonicalRequest canonical_request(std::string_view method, std::string_view canonical_uri,
                                   std::string_view canonical_query,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   std::string_view payload_hash);
// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request").
detail::Digest signing_key(std::string_view secret, std::string_view yyyymmdd,
                           std::string_view region, std::string_view service);
std::string signature_hex(const detail::Digest& signing_key, std::string_view string_to_sign);

}  // namespace backupy::controlplane::sigv4
