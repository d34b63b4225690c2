#pragma once
// The HTTP CONNECT handshake with a proxy, shared by every outbound connection (the control
// channel and uploads): one copy of the request, the status handling and the wording.
//
// Beast translation units only. The caller owns the TCP stream, its deadline and
// cancellation (closing the socket makes the handshake fail with the transport error).
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <string>

#include "backupy/net/proxy.hpp"

namespace backupy::net::detail {

struct ProxyTunnelResult {
  bool ok() const { return !error && proxy_status == 0 && what.empty(); }
  boost::system::error_code error;  // transport failure (or none: see why)
  int proxy_status = 0;             // the proxy answered CONNECT with this non-200 status
  // "proxy 10.0.0.1:3128 did not answer CONNECT to s3.example.com:443"; empty on success.
  std::string what;
  // Replaces error's own text when set ("HTTP 407 Proxy Authentication Required (check the
  // proxy credentials)", "unexpected data after the 200 response").
  std::string why;
  std::string message() const { return what + ": " + (why.empty() ? error.message() : why); }
};

// Sends "CONNECT <authority>" (authority = host:port of the real target) on the connected
// stream and reads the proxy's answer; done runs exactly once, on the stream's executor.
void async_proxy_tunnel(boost::beast::tcp_stream& tcp, const ProxyConfig& proxy,
                        const std::string& authority, const std::string& user_agent,
                        std::function<void(ProxyTunnelResult)> done);

}  // namespace backupy::net::detail
