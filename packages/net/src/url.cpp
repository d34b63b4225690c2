#include "backupy/net/url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "backupy/core/ascii.hpp"

namespace backupy::net {
namespace {

constexpr std::string_view kConnectPath = "/v1/agents/connect";

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// Protocol tokens and secret names are ASCII: no locale.
std::string lower(std::string_view text) {
  return core::ascii_lower(text);
}

std::uint16_t default_port(std::string_view scheme) {
  return scheme == "https" || scheme == "wss" ? 443 : 80;
}

bool known_scheme(std::string_view scheme) {
  return scheme == "https" || scheme == "wss" || scheme == "http" || scheme == "ws";
}

// RFC 3986 scheme syntax; only a scheme that passes is ever quoted back in an
// error, so a mistyped URL cannot smuggle its secrets into a log line.
bool plausible_scheme(std::string_view scheme) {
  if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme.front()))) return false;
  return std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

bool valid_hostname(std::string_view host) {
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

bool is_ipv6_literal(const std::string& host) {
  std::array<unsigned char, 16> bytes{};
  return ::inet_pton(AF_INET6, host.c_str(), bytes.data()) == 1;
}

// Splits "scheme://rest"; false if the text has no scheme separator.
bool split_scheme(std::string_view text, std::string_view* scheme, std::string_view* rest) {
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) return false;
  *scheme = text.substr(0, sep);
  *rest = text.substr(sep + 3);
  return true;
}

bool parse_port(std::string_view digits, std::uint16_t* port, std::string* error) {
  if (digits.empty()) return fail(error, "URL has an empty port after ':'");
  if (digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return fail(error, "URL port is not a number between 1 and 65535");
  }
  unsigned value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (value < 1 || value > 65535) {
    return fail(error, "URL port " + std::string(digits) + " is out of range (1-65535)");
  }
  *port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_authority(std::string_view authority, Url* url, std::string* error) {
  if (authority.find('@') != std::string_view::npos) {
    return fail(error, "credentials in the URL are not supported (user:password@host)");
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(error, "URL has an unterminated IPv6 '['");
    url->host = lower(authority.substr(1, close - 1));
    if (!is_ipv6_literal(url->host)) return fail(error, "URL host is not a valid IPv6 address");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(error, "unexpected characters after the IPv6 ']'");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    url->host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (!url->host.empty() && !valid_hostname(url->host)) {
      return fail(error, "URL host contains characters that are not allowed in a host name");
    }
  }
  if (url->host.empty()) return fail(error, "URL has no host");
  url->port = default_port(url->scheme);
  return !has_port || parse_port(port_text, &url->port, error);
}

}  // namespace

std::string Url::host_header() const {
  const bool bracket = host.find(':') != std::string::npos;
  std::string out = bracket ? "[" + host + "]" : host;
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::to_string() const {
  return scheme + "://" + host_header() + target;
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  if (std::any_of(text.begin(), text.end(),
                  [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    fail(error, "URL contains whitespace or control characters");
    return std::nullopt;
  }
  std::string_view scheme_text, rest;
  if (!split_scheme(text, &scheme_text, &rest)) {
    fail(error, "URL has no scheme (expected e.g. https://host)");
    return std::nullopt;
  }
  Url url;
  url.scheme = lower(scheme_text);
  if (!known_scheme(url.scheme)) {
    fail(error, plausible_scheme(url.scheme) ? "unsupported URL scheme '" + url.scheme +
                                                   "' (expected http, https, ws or wss)"
                                             : std::string("URL has an invalid scheme"));
    return std::nullopt;
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  if (!parse_authority(rest.substr(0, authority_end), &url, error)) return std::nullopt;

  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  // The fragment never reaches the server.
  target = target.substr(0, target.find('#'));
  url.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return url;
}

std::optional<Url> agent_connect_url(std::string_view server_url, bool allow_insecure,
                                     std::string* error) {
  std::string_view scheme_text, rest;
  if (!split_scheme(server_url, &scheme_text, &rest)) {
    fail(error, "server URL must start with https:// (or wss://)");
    return std::nullopt;
  }
  const std::string scheme = lower(scheme_text);
  if (!known_scheme(scheme)) {
    fail(error,
         plausible_scheme(scheme)
             ? "unsupported server URL scheme '" + scheme + "://' (expected https:// or wss://)"
             : std::string("server URL has an invalid scheme (expected https:// or wss://)"));
    return std::nullopt;
  }
  if ((scheme == "http" || scheme == "ws") && !allow_insecure) {
    fail(error, "insecure server URL scheme '" + scheme +
                    "://' refused: use https:// (or set BACKUPY_DEV_ALLOW_INSECURE=true for "
                    "local development)");
    return std::nullopt;
  }
  std::string detail;
  std::optional<Url> url = parse_url(server_url, &detail);
  if (!url) {
    fail(error, "invalid server URL: " + detail);
    return std::nullopt;
  }
  url->scheme = url->tls() ? "wss" : "ws";
  // Query strings are dropped: the connect endpoint takes none, and they may carry credentials.
  std::string path = url->target.substr(0, url->target.find('?'));
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (!path.ends_with(kConnectPath)) path += kConnectPath;
  url->target = std::move(path);
  return url;
}

}  // namespace backupy::net
