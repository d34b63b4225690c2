#pragma once
// TCP with or without TLS on top, chosen per connection at run time: the next layer of a
// websocket::stream that serves both ws:// and wss://.
//
// Beast translation units only: this header pulls in Beast and OpenSSL, which dominate
// compile time, so every other file must keep away from it (public headers forward-declare
// Asio instead). Its users are net/src/wss_connection.cpp (the agent's client) and
// tests/support/src/ws_test_peer.cpp (the scripted server the tests talk to).
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <optional>
#include <utility>

namespace backupy::net::detail {

using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// Instantiating websocket::stream once over this instead of once per transport saves about a
// quarter of a Beast file's compile time (42 s -> 31 s for wss_connection.cpp); the price is
// one branch per I/O call.
class MaybeTlsStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  // `next` builds the TCP layer (an io_context to dial from, or an accepted socket); TLS is on
  // when `tls` is given, which must then outlive the stream.
  template <class Next>
  MaybeTlsStream(Next&& next, boost::asio::ssl::context* tls) {
    if (tls) {
      tls_.emplace(std::forward<Next>(next), *tls);
    } else {
      plain_.emplace(std::forward<Next>(next));
    }
  }

  executor_type get_executor() noexcept { return next_layer().get_executor(); }
  // The TCP layer, also what beast::get_lowest_layer() finds.
  boost::beast::tcp_stream& next_layer() { return tls_ ? tls_->next_layer() : *plain_; }
  TlsStream* tls() { return tls_ ? &*tls_ : nullptr; }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_read_some(buffers, std::forward<Handler>(handler));
    }
  }

  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) {
      tls_->async_write_some(buffers, std::forward<Handler>(handler));
    } else {
      plain_->async_write_some(buffers, std::forward<Handler>(handler));
    }
  }

 private:
  std::optional<TlsStream> tls_;
  std::optional<boost::beast::tcp_stream> plain_;
};

// Found by Beast through ADL once the closing handshake is done: what its own overloads do
// for each transport. A type derived from MaybeTlsStream that needs another goodbye declares
// its own async_teardown for the derived type (Beast's catch-all template would otherwise beat
// this one for it).
template <class Handler>
void async_teardown(boost::beast::role_type role, MaybeTlsStream& stream, Handler&& handler) {
  if (TlsStream* tls = stream.tls()) {
    tls->async_shutdown(std::forward<Handler>(handler));
  } else {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.next_layer().socket(), std::forward<Handler>(handler));
  }
}

}  // namespace backupy::net::detail
