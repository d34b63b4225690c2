#include "sigv4.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include "backupy/core/ascii.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::controlplane::sigv4 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kService = "s3";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

// Splits "host[:port]" (IPv6 in brackets) into out; false with a reason otherwise.
bool parse_authority(std::string_view authority, Endpoint& out, std::string* error) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(error, "has an unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(error, "has garbage after the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return fail(error, "has an empty port");
    }
    const std::string inner(host.substr(1, host.size() - 2));
    unsigned char buf[16];
    if (inet_pton(AF_INET6, inner.c_str(), buf) != 1) {
      return fail(error, "has an invalid IPv6 address");
    }
    out.host_is_ip = true;
  } else {
    if (const std::size_t colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return fail(error, "has an empty port");
    }
    unsigned char buf[4];
    out.host_is_ip = inet_pton(AF_INET, std::string(host).c_str(), buf) == 1;
    if (!out.host_is_ip && !is_dns_name(core::ascii_lower(host))) {
      return fail(error, "must name a host (letters, digits, '-', '.') or an IP address");
    }
  }
  out.host = core::ascii_lower(host);
  if (!port.empty()) {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return fail(error, "has an invalid port");
    }
    const unsigned long value = std::stoul(std::string(port));
    if (value == 0 || value > 65535) return fail(error, "has a port outside 1-65535");
    const unsigned long default_port = out.scheme == "https" ? 443 : 80;
    out.port = value == default_port ? 0 : static_cast<std::uint16_t>(value);
  }
  return true;
}

std::string credential_scope(std::string_view date, std::string_view region) {
  return std::string(date) + "/" + std::string(region) + "/" + std::string(kService) +
         "/aws4_request";
}

}  // namespace

std::string Endpoint::authority() const {
  return port == 0 ? host : host + ":" + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::string* error) {
  Endpoint endpoint;
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    fail(error, "must start with http:// or https://");
    return std::nullopt;
  }
  endpoint.scheme = core::ascii_lower(text.substr(0, sep));
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    fail(error, "must start with http:// or https://");
    return std::nullopt;
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    fail(error, "must not have a query or fragment");
    return std::nullopt;
  }
  if (rest.find('@') != std::string_view::npos) {
    fail(error, "must not contain credentials (user@host)");
    return std::nullopt;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    fail(error, "must not have a path (the bucket is configured separately)");
    return std::nullopt;
  }
  if (rest.empty()) {
    fail(error, "has no host");
    return std::nullopt;
  }
  if (!parse_authority(rest, endpoint, error)) return std::nullopt;
  return endpoint;
}

std::string uri_encode(std::string_view text, bool encode_slash) {
  return core::percent_encode(text, !encode_slash);
}

std::string amz_date(std::int64_t epoch_sec) {
  const std::time_t time = static_cast<std::time_t>(epoch_sec);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char buf[32];
  const std::size_t length = std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &utc);
  return std::string(buf, length);
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = uri_encode(name, true);
    value = uri_encode(value, true);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

CanonicalRequest canonical_request(std::string_view method, std::string_view canonical_uri,
                                   std::string_view canonical_query,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   std::string_view payload_hash) {
  for (auto& [name, value] : headers) {
    name = core::ascii_lower(name);
    value = std::string(core::trim_blanks(value));
  }
  std::sort(headers.begin(), headers.end());
  CanonicalRequest out;
  out.text.append(method).append("\n");
  out.text.append(canonical_uri).append("\n");
  out.text.append(canonical_query).append("\n");
  for (const auto& [name, value] : headers) {
    out.text.append(name).append(":").append(value).append("\n");
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += name;
  }
  out.text.append("\n").append(out.signed_headers).append("\n").append(payload_hash);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kAlgorithm);
  out.append("\n").append(amz_date).append("\n").append(scope).append("\n");
  out += crypto::sha256_hex(crypto::as_bytes(canonical_request));
  return out;
}

detail::Digest signing_key(std::string_view secret, std::string_view yyyymmdd,
                           std::string_view region, std::string_view service) {
  std::string seed = "AWS4" + std::string(secret);
  detail::Digest key = detail::hmac_sha256(crypto::as_bytes(seed), yyyymmdd);
  crypto::secure_wipe(std::span(reinterpret_cast<std::uint8_t*>(seed.data()), seed.size()));
  key = detail::hmac_sha256(key, region);
  key = detail::hmac_sha256(key, service);
  return detail::hmac_sha256(key, std::string_view("aws4_request"));
}

std::string signature_hex(const detail::Digest& key, std::string_view to_sign) {
  return core::to_hex(detail::hmac_sha256(key, to_sign));
}

std::string presign_url(const PresignRequest& request, const Credentials& credentials) {
  if (request.expires_sec < 1 || request.expires_sec > kMaxExpiresSec) {
    throw std::invalid_argument("X-Amz-Expires must be between 1 and 604800 seconds");
  }
  if (request.bucket.empty() || request.key.empty()) {
    throw std::invalid_argument("presigning needs a bucket and an object key");
  }
  const std::string date_time = amz_date(request.now_sec);
  const std::string date = date_time.substr(0, 8);
  const std::string scope = credential_scope(date, request.region);

  std::string host = request.endpoint.authority();
  std::string uri = "/";
  if (request.path_style) {
    uri += uri_encode(request.bucket, true) + "/";
  } else {
    host = request.bucket + "." + host;
  }
  uri += uri_encode(request.key, false);

  const std::string query =
      canonical_query({{"X-Amz-Algorithm", std::string(kAlgorithm)},
                       {"X-Amz-Credential", credentials.access_key_id + "/" + scope},
                       {"X-Amz-Date", date_time},
                       {"X-Amz-Expires", std::to_string(request.expires_sec)},
                       {"X-Amz-SignedHeaders", "host"}});
  const CanonicalRequest canonical =
      canonical_request(request.method, uri, query, {{"host", host}}, kUnsignedPayload);
  const std::string signature =
      signature_hex(signing_key(credentials.secret_access_key, date, request.region, kService),
                    string_to_sign(date_time, scope, canonical.text));
  return request.endpoint.scheme + "://" + host + uri + "?" + query +
         "&X-Amz-Signature=" + signature;
}

}  // namespace backupy::controlplane::sigv4
