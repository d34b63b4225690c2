#pragma once
// Beast types shared by listener.cpp, agent_session.cpp and object_transfer.cpp, the only
// translation units that include Beast (it dominates compile time: keep it out of everything
// else).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "server_state.hpp"

namespace backupy::controlplane::detail {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
// Reads a request head only; the route decides how the body is read.
using HeadParser = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// The embedded object store's URL space on the listener (local_store.hpp).
inline constexpr std::string_view kObjectsPrefix = "/objects/";

// Takes over an authenticated connection whose upgrade request has been read, completes the
// WebSocket handshake and runs the backup.v1 protocol with the agent.
void start_agent_session(TlsStream stream, HttpRequest request, std::string agent_id,
                         std::string remote, ServerState& state);

// Takes over a connection whose request head for kObjectsPrefix has been read (buffer holds
// whatever was read past the head): checks the URL, streams a PUT body into the store or a
// stored object out, answers, and closes the connection.
void start_object_transfer(TlsStream stream, boost::beast::flat_buffer buffer,
                           std::unique_ptr<HeadParser> head, std::string remote,
                           ServerState& state);

}  // namespace backupy::controlplane::detail
