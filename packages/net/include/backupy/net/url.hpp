#pragma once
// URL parsing for the handful of schemes the agent dials, and the mapping from
// the operator's server URL to the WebSocket endpoint (v1 contract, Transport).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::net {

struct Url {
  std::string scheme;      // lower-case: "https", "wss", "http", "ws"
  std::string host;        // without brackets for IPv6 literals
  std::uint16_t port = 0;  // explicit or the scheme default
  std::string target;      // path + query, always starting with "/"
  bool tls() const { return scheme == "https" || scheme == "wss"; }
  // host[:port] as it belongs in a Host header (brackets for IPv6, port only if non-default)
  std::string host_header() const;
  std::string to_string() const;
};

// Parses absolute http(s)/ws(s) URLs. Returns nullopt with a reason in *error.
std::optional<Url> parse_url(std::string_view text, std::string* error = nullptr);

// https://host[/prefix] -> wss://host[/prefix]/v1/agents/connect (prefix kept,
// suffix not appended twice, trailing slashes folded). http -> ws likewise.
// ws(s) URLs are accepted as they are, getting the suffix if missing.
// Insecure schemes are refused unless allow_insecure. Error text names the
// problem but never echoes query strings (they may carry credentials).
std::optional<Url> agent_connect_url(std::string_view server_url, bool allow_insecure,
                                     std::string* error);

}  // namespace backupy::net
