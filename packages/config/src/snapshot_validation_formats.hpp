#pragma once
// Syntax checks for the string-typed fields of a config: times of day,
// host:port endpoints and URLs.
#include <string>
#include <string_view>

namespace backupy::config::detail {

// "HH:MM" with two digits each, 00:00-23:59.
bool is_hh_mm(std::string_view text);

enum class EndpointProblem { none, not_host_port, unbracketed_ipv6, bad_port };
// Checks "host:port" / "[v6]:port" with a port of 1-65535.
EndpointProblem check_host_port(std::string_view text);

// True if text starts with scheme (e.g. "https://", any case) and names a host.
bool has_scheme(std::string_view text, std::string_view scheme);
bool has_host_after_scheme(std::string_view text);

// text with any "user:password@" before the host replaced by [REDACTED], so a
// credential in a health-check URL is not echoed back.
std::string without_userinfo(std::string_view text);

}  // namespace backupy::config::detail
