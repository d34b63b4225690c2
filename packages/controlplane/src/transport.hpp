#pragma once
// Beast types shared by listener.cpp and agent_session.cpp, the only two translation units
// that include Beast (it dominates compile time: keep it out of everything else).
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <string>

#include "server_state.hpp"

namespace backupy::controlplane::detail {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Takes over an authenticated connection whose upgrade request has been read, completes the
// WebSocket handshake and runs the backup.v1 protocol with the agent.
void start_agent_session(TlsStream stream, HttpRequest request, std::string agent_id,
                         std::string remote, ServerState& state);

}  // namespace backupy::controlplane::detail
