#pragma once
// One outbound WebSocket connection (wss:// or, for development, ws://).
//
// Owns the whole dial: resolve -> TCP connect (optionally through an HTTP
// CONNECT proxy) -> TLS (>= 1.2, SNI, chain + hostname verification against the
// system store plus an optional CA file) -> WebSocket upgrade with extra
// headers -> read loop -> serialized writes. Beast is hidden behind this header
// so that callers' translation units stay cheap to compile.
//
// Threading: every method must be called on the io_context's (single) thread,
// and every handler runs there. Callbacks never run after close_now().
//
// Lifecycle: create() -> start() -> on_open (or on_closed with the failure)
// -> on_message* -> on_closed exactly once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "backupy/net/proxy.hpp"
#include "backupy/net/url.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::net {

struct WssOptions {
  Url url;                                                   // ws:// or wss://, already validated
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  std::string user_agent = "backupy-agent";
  std::optional<std::string> ca_file;  // extra trust anchors (PEM), added to system CAs
  std::optional<ProxyConfig> proxy;
  std::chrono::milliseconds connect_timeout{10000};    // resolve + TCP (+ proxy CONNECT)
  std::chrono::milliseconds handshake_timeout{10000};  // TLS + WebSocket upgrade
  // Silence for this long = dead peer; a WebSocket ping is sent at half of it.
  // (Beast 1.74 keep-alive: the timer fires idle/2 after the current read
  // began and sends a ping; if nothing at all arrives in the next idle/2 the
  // connection fails with "no data from the control plane for <idle> (dead
  // peer)". A live peer's pong resets it, so only a dead peer is cut off,
  // between idle/2 and idle after its last byte. Pings stop while inbound
  // messages keep flowing.) handshake_timeout also bounds the closing handshake.
  std::chrono::milliseconds idle_timeout{90000};
  std::size_t max_inbound_message = 4 * 1024 * 1024;  // larger -> close 1009
};

// Why a connection ended (or never opened).
struct CloseInfo {
  enum class Stage { connect, tls, upgrade, open };
  Stage stage = Stage::connect;
  std::error_code error;         // transport error, if any (std::errc::timed_out for our deadlines)
  int http_status = 0;           // upgrade refused: the HTTP status (401, 403, 404...)
  int proxy_status = 0;          // HTTP CONNECT refused by the proxy: its status (407, 502...)
  bool auth_failure = false;     // http_status is 401 or 403
  bool message_too_big = false;  // inbound frame exceeded max_inbound_message (we sent 1009)
  std::uint16_t close_code = 0;  // WebSocket close code received or sent, if any
  std::string message;           // one precise, human line; never contains secrets
};

class WssConnection : public std::enable_shared_from_this<WssConnection> {
 public:
  struct Handlers {
    std::function<void()> on_open;
    // Every complete inbound message; is_text for text frames (not protocol).
    std::function<void(std::string&& payload, bool is_text)> on_message;
    std::function<void(const CloseInfo&)> on_closed;
  };

  static std::shared_ptr<WssConnection> create(boost::asio::io_context& io, WssOptions options,
                                               Handlers handlers);
  virtual ~WssConnection() = default;

  virtual void start() = 0;
  // Queues one binary message. on_written(error) fires once the frame has been
  // handed to the socket (or failed / the connection closed first). Writes are
  // strictly in send() order, one in flight at a time. Messages sent before
  // on_open wait for it; messages still queued when the connection ends (or
  // sent after close()) get std::errc::operation_canceled. The on_written of
  // every message queued before the end runs before on_closed.
  virtual void send(std::string payload, std::function<void(std::error_code)> on_written) = 0;
  // Number of messages queued but not yet written, the one in flight included
  // (for backpressure).
  virtual std::size_t pending_writes() const = 0;
  // Graceful close with a code; on_closed follows (stage open, close_code =
  // code), or, before on_open, aborts the dial ("closed by the agent before
  // the connection opened").
  virtual void close(std::uint16_t code, std::string reason) = 0;
  // Immediate teardown without callbacks (shutdown path).
  virtual void close_now() = 0;
};

}  // namespace backupy::net
