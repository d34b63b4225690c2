#include "snapshot_validation_formats.hpp"

#include <algorithm>
#include <cctype>

#include "backupy/core/redactor.hpp"

namespace backupy::config::detail {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Where the authority ("user@host:port") of a URL-ish text begins.
std::size_t authority_start(std::string_view text) {
  const std::size_t scheme_end = text.find("://");
  return scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
}

}  // namespace

bool is_hh_mm(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return false;
  if (!is_digit(text[0]) || !is_digit(text[1]) || !is_digit(text[3]) || !is_digit(text[4])) {
    return false;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  return hours <= 23 && minutes <= 59;
}

EndpointProblem check_host_port(std::string_view text) {
  // Credentials ("user@host:port") and whitespace never belong in an endpoint.
  if (std::any_of(text.begin(), text.end(), [](char c) { return is_space(c) || c == '@'; })) {
    return EndpointProblem::not_host_port;
  }
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return EndpointProblem::not_host_port;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return EndpointProblem::not_host_port;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return EndpointProblem::unbracketed_ipv6;
  }
  if (host.empty() || port.empty() || !std::all_of(port.begin(), port.end(), is_digit)) {
    return EndpointProblem::not_host_port;
  }
  // More than five digits cannot be a port; checking length first avoids overflow.
  if (port.size() > 5) return EndpointProblem::bad_port;
  int value = 0;
  for (const char c : port) value = value * 10 + (c - '0');
  return value >= 1 && value <= 65535 ? EndpointProblem::none : EndpointProblem::bad_port;
}

bool has_scheme(std::string_view text, std::string_view scheme) {
  return text.size() >= scheme.size() &&
         std::equal(scheme.begin(), scheme.end(), text.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

bool has_host_after_scheme(std::string_view text) {
  const std::size_t start = authority_start(text);
  std::string_view authority = text.substr(start);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  // A host is more than a bare ":port".
  return !authority.empty() && authority.front() != ':';
}

std::string without_userinfo(std::string_view text) {
  const std::size_t start = authority_start(text);
  const std::size_t end = std::min(text.find_first_of("/?#", start), text.size());
  const std::size_t at = text.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(text);
  return std::string(text.substr(0, start)) + std::string(core::kRedacted) +
         std::string(text.substr(at));
}

}  // namespace backupy::config::detail
