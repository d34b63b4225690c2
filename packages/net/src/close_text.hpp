#pragma once
// The human text of CloseInfo::message, kept apart from the Beast translation
// unit so that wording changes recompile in a second and can be unit-tested.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace backupy::net::detail {

// "host:port", with brackets around IPv6 literals.
std::string host_port(std::string_view host, std::uint16_t port);

// "90s", "600ms", "1500ms": exact, never rounded.
std::string format_duration(std::chrono::milliseconds duration);

// "1009 (message too big)"; unknown codes are just the number.
std::string close_code_text(std::uint16_t code);

// "control plane refused the WebSocket upgrade: HTTP 401 Unauthorized (check
// BACKUPY_AGENT_KEY)". phrase is the standard reason phrase (may be empty);
// path is the request path without its query.
std::string upgrade_refused_message(int status, std::string_view phrase, std::string_view path);

}  // namespace backupy::net::detail
