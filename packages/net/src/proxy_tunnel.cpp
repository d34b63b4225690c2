// HTTP CONNECT for outbound dials (see detail/proxy_tunnel.hpp). Kept apart from the Beast
// clients so that the CONNECT parser is instantiated once for all of them.
#include "backupy/net/detail/proxy_tunnel.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>
#include <utility>

#include "close_text.hpp"

namespace backupy::net::detail {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

struct Tunnel {
  Tunnel(beast::tcp_stream& tcp, std::string dial_text, std::string authority,
         std::function<void(ProxyTunnelResult)> done)
      : tcp(tcp),
        dial_text(std::move(dial_text)),
        authority(authority),
        request(http::verb::connect, authority, 11),
        done(std::move(done)) {}

  beast::tcp_stream& tcp;
  std::string dial_text;
  std::string authority;
  http::request<http::empty_body> request;
  http::response_parser<http::empty_body> response;
  beast::flat_buffer buffer;
  std::function<void(ProxyTunnelResult)> done;

  void fail(error_code ec, std::string what, std::string why = {}) {
    ProxyTunnelResult result;
    result.error = ec;
    result.what = std::move(what);
    result.why = std::move(why);
    done(std::move(result));
  }
};

std::string reason_phrase(int status) {
  const http::status known = http::int_to_status(static_cast<unsigned>(status));
  if (known == http::status::unknown) return {};
  return " " + std::string(http::obsolete_reason(known));
}

void on_response(const std::shared_ptr<Tunnel>& t, error_code ec) {
  const std::string what = t->dial_text + " did not answer CONNECT to " + t->authority;
  if (ec) return t->fail(ec, what);
  const int status = static_cast<int>(t->response.get().result_int());
  if (status != 200) {
    ProxyTunnelResult result;
    result.proxy_status = status;
    result.what = t->dial_text + " refused CONNECT to " + t->authority;
    result.why = "HTTP " + std::to_string(status) + reason_phrase(status) +
                 (status == 407 ? " (check the proxy credentials)" : "");
    return t->done(std::move(result));
  }
  // Neither TLS nor HTTP/WebSocket servers speak first, so anything here is the
  // proxy misbehaving; it must not be lost or handed to the wrong layer.
  if (t->buffer.size() != 0) return t->fail({}, what, "unexpected data after the 200 response");
  t->done(ProxyTunnelResult{});
}

}  // namespace

void async_proxy_tunnel(beast::tcp_stream& tcp, const ProxyConfig& proxy,
                        const std::string& authority, const std::string& user_agent,
                        std::function<void(ProxyTunnelResult)> done) {
  auto t = std::make_shared<Tunnel>(tcp, "proxy " + host_port(proxy.host, proxy.port), authority,
                                    std::move(done));
  t->request.set(http::field::host, authority);
  t->request.set(http::field::user_agent, user_agent);
  if (std::string auth = proxy_authorization(proxy); !auth.empty()) {
    t->request.set(http::field::proxy_authorization, auth);
  }
  // A 2xx answer to CONNECT has no body: the tunnel starts right after the header.
  t->response.skip(true);
  http::async_write(t->tcp, t->request, [t](error_code ec, std::size_t) {
    if (ec) return t->fail(ec, "cannot send CONNECT to " + t->dial_text);
    http::async_read_header(t->tcp, t->buffer, t->response,
                            [t](error_code ec, std::size_t) { on_response(t, ec); });
  });
}

}  // namespace backupy::net::detail
