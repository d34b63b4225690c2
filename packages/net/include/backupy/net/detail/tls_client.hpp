#pragma once
// The agent's client-side TLS policy, shared by every outbound connection (the control
// channel in wss_connection.cpp and uploads in packages/upload): TLS >= 1.2, the system trust
// store plus an optional CA file, SNI, and chain + host name verification with a failure text
// an operator can act on.
//
// Beast translation units only (pulls in Asio's SSL stream through maybe_tls_stream.hpp).
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>

#include "backupy/net/detail/maybe_tls_stream.hpp"

namespace backupy::net::detail {

// Sets up a client context. Returns an error message ("cannot load CA file <path>: <why>"),
// or empty on success.
std::string configure_tls_client(boost::asio::ssl::context& ctx,
                                 const std::optional<std::string>& ca_file);

// SNI (names only, RFC 6066) and host name / IP verification for one handshake with host.
void prepare_tls_client(TlsStream& tls, const std::string& host);

// Why a client handshake failed, in words an operator can act on; empty to use the error's own
// text.
std::string tls_failure_detail(const boost::system::error_code& ec, TlsStream& tls);

// True when the handshake failed on the peer's certificate (retrying will not help).
bool tls_verify_failed(TlsStream& tls);

}  // namespace backupy::net::detail
