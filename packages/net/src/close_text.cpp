#include "close_text.hpp"

namespace backupy::net::detail {

std::string host_port(std::string_view host, std::uint16_t port) {
  const bool bracket = host.find(':') != std::string_view::npos;
  std::string out = bracket ? "[" + std::string(host) + "]" : std::string(host);
  return out + ":" + std::to_string(port);
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  return ms % 1000 == 0 && ms != 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string close_code_text(std::uint16_t code) {
  std::string_view name;
  switch (code) {
    case 1000: name = "normal"; break;
    case 1001: name = "going away"; break;
    case 1002: name = "protocol error"; break;
    case 1003: name = "unsupported data"; break;
    case 1007: name = "invalid payload"; break;
    case 1008: name = "policy violation"; break;
    case 1009: name = "message too big"; break;
    case 1010: name = "missing extension"; break;
    case 1011: name = "internal error"; break;
    case 1012: name = "service restart"; break;
    case 1013: name = "try again later"; break;
    default: break;
  }
  return name.empty() ? std::to_string(code)
                      : std::to_string(code) + " (" + std::string(name) + ")";
}

std::string upgrade_refused_message(int status, std::string_view phrase, std::string_view path) {
  std::string message =
      "control plane refused the WebSocket upgrade: HTTP " + std::to_string(status);
  if (!phrase.empty()) message += " " + std::string(phrase);
  if (status == 401 || status == 403) {
    message += " (check BACKUPY_AGENT_KEY)";
  } else if (status == 404) {
    message += " (check the server URL: no agent endpoint at " + std::string(path) + ")";
  }
  return message;
}

}  // namespace backupy::net::detail
