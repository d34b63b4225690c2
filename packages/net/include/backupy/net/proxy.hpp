#pragma once
// HTTPS_PROXY / NO_PROXY handling for outbound dials (HTTP CONNECT tunnels).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::net {

struct ProxyConfig {
  std::string host;
  std::uint16_t port = 0;
  // "user:password" from the proxy URL, sent as Proxy-Authorization: Basic.
  std::optional<std::string> basic_credentials;
};

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Chooses the proxy for a connection to target_host, honouring HTTPS_PROXY /
// https_proxy (and ALL_PROXY as a fallback) and NO_PROXY / no_proxy (comma
// list of hosts, domain suffixes ".example.com" or "example.com", IPs, "*").
// Returns nullopt for a direct connection. Throws std::invalid_argument with a
// message naming the variable if the proxy URL cannot be parsed.
// A proxy URL without a port means 1080, as in curl. Credentials in the URL
// are percent-decoded. Only http:// proxies are supported (https:// and socks
// are refused with std::invalid_argument). NO_PROXY entries may carry a
// ":port", which is ignored; IP entries match exactly (no CIDR ranges).
std::optional<ProxyConfig> proxy_for(std::string_view target_host, const EnvLookup& env);

// The Proxy-Authorization header value ("Basic <base64(user:password)>"), or
// empty when the proxy needs no credentials.
std::string proxy_authorization(const ProxyConfig& proxy);

}  // namespace backupy::net
