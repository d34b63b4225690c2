#include "backupy/net/proxy.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <vector>

#include "backupy/core/ascii.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/net/url.hpp"

namespace backupy::net {
namespace {

// curl's default when a proxy URL names no port ("If the port number is not
// specified in the proxy string, it is assumed to be 1080"); matching curl keeps
// HTTPS_PROXY meaning the same thing for the agent as for every other tool.
constexpr std::uint16_t kDefaultProxyPort = 1080;

// Protocol tokens and secret names are ASCII: no locale.
std::string lower(std::string_view text) {
  return core::ascii_lower(text);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// The first of the names that is set to a non-empty value, with its name.
std::optional<std::pair<std::string_view, std::string>> first_set(
    const EnvLookup& env, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    std::optional<std::string> value = env(name);
    if (value && !trim(*value).empty()) return std::make_pair(name, std::string(trim(*value)));
  }
  return std::nullopt;
}

// Canonical bytes of an IPv4/IPv6 literal, or empty if host is a name.
std::string ip_bytes(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string text(host);
  std::array<unsigned char, 16> buffer{};
  if (::inet_pton(AF_INET, text.c_str(), buffer.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buffer.data()), 4);
  }
  if (::inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1) {
    return std::string(reinterpret_cast<const char*>(buffer.data()), 16);
  }
  return {};
}

// "host", "host:port", "[v6]", "[v6]:port" or a bare v6 literal -> the host part.
std::string_view strip_port(std::string_view entry) {
  if (entry.starts_with('[')) {
    const std::size_t close = entry.find(']');
    return close == std::string_view::npos ? entry : entry.substr(0, close + 1);
  }
  const std::size_t colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    return entry.substr(0, colon);
  }
  return entry;
}

bool no_proxy_matches(std::string_view list, std::string_view target_host) {
  std::string host = lower(target_host);
  while (host.ends_with('.')) host.pop_back();
  const std::string host_ip = ip_bytes(host);

  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string entry = lower(trim(list.substr(start, comma - start)));
    start = comma + 1;
    if (entry == "*") return true;
    entry = std::string(strip_port(entry));
    if (entry.starts_with("*.")) entry.erase(0, 1);  // "*.example.com" as many tools accept it
    while (entry.ends_with('.')) entry.pop_back();
    if (entry.empty()) continue;

    const std::string entry_ip = ip_bytes(entry);
    if (!host_ip.empty() || !entry_ip.empty()) {
      // IP literals match exactly (no CIDR ranges); "1.2.3.4" must never
      // match a host name by suffix.
      if (!host_ip.empty() && host_ip == entry_ip) return true;
      continue;
    }
    if (entry.starts_with('.')) entry.erase(0, 1);
    if (host == entry) return true;
    // Suffix only on a label boundary: "example.com" covers "api.example.com", not
    // "badexample.com".
    if (host.size() > entry.size() && host.ends_with(entry) &&
        host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

[[noreturn]] void invalid(std::string_view variable, std::string_view why) {
  // Never quote the value: it may carry the proxy password.
  throw std::invalid_argument(std::string(variable) +
                              " is not a usable proxy URL: " + std::string(why));
}

ProxyConfig parse_proxy(std::string_view variable, std::string_view value) {
  std::string_view rest = value;
  const std::size_t sep = rest.find("://");
  if (sep != std::string_view::npos) {
    const std::string scheme = lower(rest.substr(0, sep));
    if (scheme == "https") {
      invalid(variable, "https:// proxies (TLS to the proxy) are not supported; use http://");
    }
    if (scheme != "http") {
      invalid(variable, "only http:// proxies are supported (HTTP CONNECT)");
    }
    rest = rest.substr(sep + 3);
  }  // no scheme: http, as curl assumes
  rest = rest.substr(0, rest.find_first_of("/?#"));

  ProxyConfig proxy;
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    // Userinfo is percent-encoded in URLs ("p%40ss" for "p@ss").
    std::optional<std::string> credentials = core::percent_decode(rest.substr(0, at));
    if (!credentials) invalid(variable, "bad percent-encoding in the credentials");
    if (credentials->find(':') == std::string::npos) *credentials += ':';
    proxy.basic_credentials = std::move(*credentials);
    rest = rest.substr(at + 1);
  }

  // Reuse the URL parser for host, IPv6 brackets and port validation.
  std::string error;
  const bool has_port = rest.starts_with('[') ? rest.find("]:") != std::string_view::npos
                                              : rest.find(':') != std::string_view::npos;
  std::optional<Url> url = parse_url("http://" + std::string(rest), &error);
  if (!url) invalid(variable, error);
  proxy.host = url->host;
  proxy.port = has_port ? url->port : kDefaultProxyPort;
  return proxy;
}

}  // namespace

std::optional<ProxyConfig> proxy_for(std::string_view target_host, const EnvLookup& env) {
  const auto proxy = first_set(env, {"HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"});
  if (!proxy) return std::nullopt;
  if (const auto no_proxy = first_set(env, {"NO_PROXY", "no_proxy"});
      no_proxy && no_proxy_matches(no_proxy->second, target_host)) {
    return std::nullopt;
  }
  return parse_proxy(proxy->first, proxy->second);
}

std::string proxy_authorization(const ProxyConfig& proxy) {
  if (!proxy.basic_credentials) return {};
  const std::string& plain = *proxy.basic_credentials;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(plain.data()),
                                     static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return "Basic " + encoded;
}

}  // namespace backupy::net
