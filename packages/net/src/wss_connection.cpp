// The only translation unit that instantiates Beast's client side: it is the
// package's compile-time cost (see build-notes.md), so it is callback-based
// and ws:// and wss:// share one websocket::stream instantiation over a stream
// that decides at run time whether TLS is on (AgentStream below).
#include "backupy/net/wss_connection.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <utility>

#include "backupy/net/detail/maybe_tls_stream.hpp"
#include "backupy/net/detail/proxy_tunnel.hpp"
#include "backupy/net/detail/tls_client.hpp"
#include "close_text.hpp"

namespace backupy::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Stage = CloseInfo::Stage;
using detail::host_port;
using detail::TlsStream;

// The transport under the WebSocket (TLS or plain, see maybe_tls_stream.hpp), plus what our
// own teardown needs.
class AgentStream : public detail::MaybeTlsStream {
 public:
  using MaybeTlsStream::MaybeTlsStream;

  // How long the closing handshake may wait for the peer (see async_teardown).
  std::chrono::milliseconds close_timeout() const { return close_timeout_; }
  void set_close_timeout(std::chrono::milliseconds timeout) { close_timeout_ = timeout; }

 private:
  std::chrono::milliseconds close_timeout_{10000};
};

bool is_application_data_after_close_notify(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
             SSL_R_APPLICATION_DATA_AFTER_CLOSE_NOTIFY;
}

// Reads and discards raw bytes until the peer closes TCP, an error, or the
// timeout; then completes successfully.
template <class Handler>
class DrainOp {
 public:
  DrainOp(beast::tcp_stream& tcp, Handler handler)
      : tcp_(tcp), handler_(std::move(handler)), buffer_(std::make_unique<Chunk>()) {}

  void operator()(error_code ec = {}, std::size_t = 0) {
    if (ec) {
      tcp_.expires_never();
      return handler_(error_code{});
    }
    tcp_.async_read_some(asio::buffer(*buffer_), std::move(*this));
  }

 private:
  using Chunk = std::array<char, 16384>;
  beast::tcp_stream& tcp_;
  Handler handler_;
  std::unique_ptr<Chunk> buffer_;  // on the heap: stays put while the op moves
};

// Found by Beast through ADL once a close frame has been sent: our own
// close(), the echo of the server's close, or the close Beast sends when it
// fails the connection (1009 message too big, 1002 protocol error).
//
// Two departures from Beast's own teardown, both so that the read handler
// gets the real reason (message_too_big, closed) instead of a teardown error:
//  - After our close_notify, a TLS peer still streaming the message we are
//    refusing makes OpenSSL fail with "application data after close notify".
//    We then drain raw TCP until the peer closes (bounded by close_timeout),
//    as Beast itself does for plain TCP; closing at once would reset the
//    connection, and a peer busy writing would fail before reading our 1009.
//  - Every teardown error counts as done: the WebSocket close has happened,
//    and nothing about a failed goodbye is actionable.
template <class Handler>
void async_teardown(beast::role_type role, AgentStream& stream, Handler&& handler) {
  auto done = [handler = std::forward<Handler>(handler)](error_code) mutable {
    handler(error_code{});
  };
  if (TlsStream* tls = stream.tls()) {
    tls->async_shutdown([&stream, done = std::move(done)](error_code ec) mutable {
      if (!is_application_data_after_close_notify(ec)) return done(ec);
      stream.next_layer().expires_after(stream.close_timeout());
      DrainOp<decltype(done)>(stream.next_layer(), std::move(done))();
    });
  } else {
    using beast::websocket::async_teardown;
    async_teardown(role, stream.next_layer().socket(), std::move(done));
  }
}

// Header injection guard; returns a message for CloseInfo on failure.
std::string check_headers(const WssOptions& options) {
  auto bad = [](const std::string& text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos;
  };
  if (bad(options.user_agent)) return "the User-Agent contains a line break or NUL";
  for (const auto& [name, value] : options.headers) {
    // Only the name is quoted: the value is usually a credential.
    if (bad(name) || bad(value)) return "header " + name + " contains a line break or NUL";
  }
  return {};
}

struct Outgoing {
  std::string payload;
  std::function<void(std::error_code)> on_written;
};

class WsImpl final : public WssConnection {
 public:
  // setup_failure: a problem found before any I/O (bad CA file, bad header),
  // reported by start() like any other failure.
  WsImpl(asio::io_context& io, WssOptions options, Handlers handlers,
         std::unique_ptr<ssl::context> tls, std::optional<CloseInfo> setup_failure)
      : io_(io),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        setup_failure_(std::move(setup_failure)),
        tls_(std::move(tls)),
        resolver_(io),
        deadline_(io),
        ws_(io, tls_.get()) {
    ws_.next_layer().set_close_timeout(options_.handshake_timeout);
  }

  void start() override {
    if (started_ || finished_) return;
    started_ = true;
    if (setup_failure_) {
      // Every outcome arrives from the io_context, never from inside start().
      asio::post(io_, [self = self()] { self->finish(*self->setup_failure_); });
      return;
    }
    arm_deadline(options_.connect_timeout);
    resolver_.async_resolve(dial_host(), std::to_string(dial_port()),
                            tcp::resolver::numeric_service,
                            [self = self()](error_code ec, tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  void send(std::string payload, std::function<void(std::error_code)> on_written) override {
    if (stopped_) return;
    if (finished_ || local_close_) {
      if (on_written) {
        asio::post(io_, [self = self(), on_written = std::move(on_written)] {
          if (!self->stopped_) on_written(make_error_code(std::errc::operation_canceled));
        });
      }
      return;
    }
    outbox_.push_back({std::move(payload), std::move(on_written)});
    write_next();
  }

  std::size_t pending_writes() const override { return outbox_.size(); }

  void close(std::uint16_t code, std::string reason) override {
    if (stopped_ || finished_ || local_close_) return;
    local_close_ = true;
    local_close_info_.stage = stage_;
    if (!opened_) {
      local_close_info_.message = "closed by the agent before the connection opened";
      abort_io();
      asio::post(io_, [self = self()] { self->finish(self->local_close_info_); });
      return;
    }
    local_close_info_.close_code = code;
    local_close_info_.message = "closed by the agent with code " + detail::close_code_text(code);
    if (reason.size() > 123) reason.resize(123);  // RFC 6455: the reason fits a control frame
    ws_.async_close(
        websocket::close_reason(static_cast<websocket::close_code>(code), reason),
        [self = self()](error_code ec) {
          CloseInfo info = self->local_close_info_;
          if (ec && ec != asio::error::operation_aborted && ec != websocket::error::closed) {
            info.error = ec;
          }
          self->finish(std::move(info));
        });
  }

  void close_now() override {
    if (stopped_) return;
    stopped_ = true;
    finished_ = true;
    handlers_ = {};
    // The message being written must outlive its write operation, which is
    // about to complete with an error; the rest can go.
    if (writing_) {
      outbox_.resize(1);
      outbox_.front().on_written = nullptr;
    } else {
      outbox_.clear();
    }
    abort_io();
  }

 private:
  std::shared_ptr<WsImpl> self() { return std::static_pointer_cast<WsImpl>(shared_from_this()); }
  bool stale() const { return stopped_ || finished_; }
  const Url& url() const { return options_.url; }
  const std::string& dial_host() const {
    return options_.proxy ? options_.proxy->host : url().host;
  }
  std::uint16_t dial_port() const { return options_.proxy ? options_.proxy->port : url().port; }
  std::string dial_text() const {
    return (options_.proxy ? "proxy " : "") + host_port(dial_host(), dial_port());
  }
  std::string target_text() const { return host_port(url().host, url().port); }
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(ws_); }

  // One deadline per dial phase (resolve + TCP + proxy, then TLS + upgrade).
  // The generation guards against a wait that completed just before a re-arm.
  void arm_deadline(std::chrono::milliseconds timeout) {
    const unsigned generation = ++deadline_generation_;
    phase_timeout_ = timeout;
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = self(), generation](error_code ec) {
      if (ec || generation != self->deadline_generation_ || self->stale()) return;
      self->timed_out_ = true;
      self->abort_io();  // the pending operation fails and reports the timeout
    });
  }

  void cancel_deadline() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  void abort_io() {
    cancel_deadline();
    resolver_.cancel();
    beast::close_socket(tcp_layer());
  }

  // A dial step failed: what names the step ("cannot connect to x:443"), why
  // replaces the error's own text when it has something better to say.
  void fail(Stage stage, error_code ec, const std::string& what, std::string why = {}) {
    if (local_close_) return finish(local_close_info_);
    CloseInfo info;
    info.stage = stage;
    info.error = ec;
    if (timed_out_) {
      info.error = make_error_code(std::errc::timed_out);
      why = "timed out after " + detail::format_duration(phase_timeout_);
    }
    info.message = what + ": " + (why.empty() ? ec.message() : why);
    finish(std::move(info));
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (stale()) return;
    if (ec) {
      return fail(Stage::connect, ec,
                  "cannot resolve " + std::string(options_.proxy ? "proxy " : "") + dial_host());
    }
    tcp_layer().async_connect(
        results, [self = self()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (stale()) return;
    if (ec) return fail(Stage::connect, ec, "cannot connect to " + dial_text());
    error_code ignored;
    tcp_layer().socket().set_option(tcp::no_delay(true), ignored);  // small frames, low latency
    if (options_.proxy) return send_proxy_connect();
    start_handshake();
  }

  void send_proxy_connect() {
    detail::async_proxy_tunnel(tcp_layer(), *options_.proxy, target_text(), options_.user_agent,
                               [self = self()](detail::ProxyTunnelResult result) {
                                 self->on_proxy_tunnel(std::move(result));
                               });
  }

  void on_proxy_tunnel(detail::ProxyTunnelResult result) {
    if (stale()) return;
    if (result.proxy_status != 0) {
      CloseInfo info;
      info.stage = Stage::connect;
      info.proxy_status = result.proxy_status;
      info.message = result.message();
      return finish(std::move(info));
    }
    if (!result.ok()) return fail(Stage::connect, result.error, result.what, result.why);
    start_handshake();
  }

  void start_handshake() {
    arm_deadline(options_.handshake_timeout);
    if (TlsStream* tls = ws_.next_layer().tls()) {
      stage_ = Stage::tls;
      detail::prepare_tls_client(*tls, url().host);
      tls->async_handshake(ssl::stream_base::client,
                           [self = self()](error_code ec) { self->on_tls_handshake(ec); });
    } else {
      upgrade();
    }
  }

  void on_tls_handshake(error_code ec) {
    if (stale()) return;
    if (ec) {
      return fail(Stage::tls, ec, "TLS handshake with " + target_text() + " failed",
                  detail::tls_failure_detail(ec, *ws_.next_layer().tls()));
    }
    upgrade();
  }

  void upgrade() {
    stage_ = Stage::upgrade;
    ws_.set_option(websocket::stream_base::decorator(
        [headers = options_.headers, agent = options_.user_agent](websocket::request_type& req) {
          req.set(http::field::user_agent, agent);
          for (const auto& [name, value] : headers) req.set(name, value);
        }));
    ws_.async_handshake(upgrade_response_, url().host_header(), url().target,
                        [self = self()](error_code ec) { self->on_upgrade(ec); });
  }

  void on_upgrade(error_code ec) {
    if (stale()) return;
    if (ec == websocket::error::upgrade_declined && !local_close_ && !timed_out_) {
      CloseInfo info;
      info.stage = Stage::upgrade;
      info.error = ec;
      info.http_status = static_cast<int>(upgrade_response_.result_int());
      info.auth_failure = info.http_status == 401 || info.http_status == 403;
      const std::string path = url().target.substr(0, url().target.find('?'));
      info.message =
          detail::upgrade_refused_message(info.http_status, reason_phrase(info.http_status), path);
      return finish(std::move(info));
    }
    if (ec) return fail(Stage::upgrade, ec, "WebSocket upgrade with " + target_text() + " failed");
    cancel_deadline();
    upgrade_response_ = {};
    on_open();
  }

  void on_open() {
    stage_ = Stage::open;
    opened_ = true;
    ws_.read_message_max(options_.max_inbound_message);
    ws_.binary(true);
    // Beast 1.74: with keep_alive_pings the idle timer fires at idle/2 and
    // sends a ping; if nothing at all was read by the next idle/2 the read
    // fails with beast::error::timeout. A live peer answers the ping within
    // a round trip, so only a dead one is cut off, idle_timeout at the latest.
    // handshake_timeout also bounds the closing handshake.
    ws_.set_option(
        websocket::stream_base::timeout{options_.handshake_timeout, options_.idle_timeout, true});
    start_read();
    write_next();
    if (handlers_.on_open) handlers_.on_open();
  }

  void start_read() {
    ws_.async_read(inbound_, [self = self()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (stale()) return;
    if (ec) return on_read_error(ec);
    std::string payload = beast::buffers_to_string(inbound_.data());
    inbound_.consume(inbound_.size());
    const bool is_text = ws_.got_text();
    start_read();
    if (handlers_.on_message) handlers_.on_message(std::move(payload), is_text);
  }

  void on_read_error(error_code ec) {
    if (local_close_) return finish(local_close_info_);
    CloseInfo info;
    info.stage = Stage::open;
    info.error = ec;
    if (ec == websocket::error::closed) {
      const websocket::close_reason& reason = ws_.reason();
      info.close_code = reason.code;
      info.message = reason.code == websocket::close_code::none
                         ? "control plane closed the connection without a close code"
                         : "control plane closed the connection with code " +
                               detail::close_code_text(reason.code);
      if (!reason.reason.empty()) info.message += ": " + std::string(reason.reason.c_str());
    } else if (ec == websocket::error::message_too_big) {
      info.message_too_big = true;
      info.close_code = websocket::close_code::too_big;
      info.message = "control plane sent a message over the " +
                     std::to_string(options_.max_inbound_message) +
                     "-byte limit; closed with 1009 (message too big)";
    } else if (ec == beast::error::timeout) {
      info.message = "no data from the control plane for " +
                     detail::format_duration(options_.idle_timeout) + " (dead peer)";
    } else if (ec == websocket::condition::protocol_violation) {
      // Beast has answered the violation with a close frame of its own.
      info.close_code = ec == websocket::error::bad_frame_payload
                            ? websocket::close_code::bad_payload
                            : websocket::close_code::protocol_error;
      info.message = "control plane violated the WebSocket protocol (" + ec.message() +
                     "); closed with " + detail::close_code_text(info.close_code);
    } else {
      info.message = "connection to " + target_text() + " lost: " + ec.message();
    }
    finish(std::move(info));
  }

  void write_next() {
    if (!opened_ || writing_ || outbox_.empty() || local_close_ || stale()) return;
    writing_ = true;
    ws_.async_write(asio::buffer(outbox_.front().payload),
                    [self = self()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    Outgoing done = std::move(outbox_.front());
    outbox_.pop_front();
    if (stopped_) return;
    if (done.on_written) done.on_written(ec);
    if (stopped_) return;
    if (finished_) return deliver_closed();  // finish() waited for this write
    if (ec) {
      // The read side may not notice a broken stream until the idle timeout.
      CloseInfo info;
      info.stage = Stage::open;
      info.error = ec;
      info.message = "cannot write to " + target_text() + ": " + ec.message();
      if (local_close_) info = local_close_info_;
      return finish(std::move(info));
    }
    write_next();
  }

  // The connection is over: stop everything, then report once. If a write is
  // in flight its completion (forced by closing the socket) reports instead,
  // so that every on_written fires before on_closed.
  void finish(CloseInfo info) {
    if (stale()) return;
    finished_ = true;
    close_info_ = std::move(info);
    abort_io();
    if (!writing_) deliver_closed();
  }

  void deliver_closed() {
    Handlers handlers = std::move(handlers_);
    handlers_ = {};  // drop captures now: they often own this connection
    std::deque<Outgoing> unsent = std::move(outbox_);
    outbox_.clear();
    for (Outgoing& message : unsent) {
      if (stopped_) return;
      if (message.on_written) message.on_written(make_error_code(std::errc::operation_canceled));
    }
    if (!stopped_ && handlers.on_closed) handlers.on_closed(close_info_);
  }

  static std::string reason_phrase(int status) {
    const http::status known = http::int_to_status(static_cast<unsigned>(status));
    if (known == http::status::unknown) return {};
    return std::string(http::obsolete_reason(known));
  }

  asio::io_context& io_;
  WssOptions options_;
  Handlers handlers_;
  std::optional<CloseInfo> setup_failure_;
  std::unique_ptr<ssl::context> tls_;  // before ws_, which refers to it
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  websocket::stream<AgentStream> ws_;

  websocket::response_type upgrade_response_;
  beast::flat_buffer inbound_;
  std::deque<Outgoing> outbox_;  // front() is in flight while writing_

  Stage stage_ = Stage::connect;
  std::chrono::milliseconds phase_timeout_{0};
  unsigned deadline_generation_ = 0;
  bool started_ = false;
  bool opened_ = false;
  bool writing_ = false;
  bool timed_out_ = false;
  bool local_close_ = false;  // close() was called
  bool finished_ = false;     // outcome decided; no further I/O
  bool stopped_ = false;      // close_now(): no callbacks at all
  CloseInfo local_close_info_;
  CloseInfo close_info_;
};

}  // namespace

std::shared_ptr<WssConnection> WssConnection::create(boost::asio::io_context& io,
                                                     WssOptions options, Handlers handlers) {
  std::optional<CloseInfo> setup_failure;
  auto fail_in = [&](Stage stage, std::string message) {
    if (message.empty() || setup_failure) return;
    setup_failure.emplace();
    setup_failure->stage = stage;
    setup_failure->message = std::move(message);
  };
  std::unique_ptr<ssl::context> tls;
  if (options.url.tls()) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    fail_in(Stage::tls, detail::configure_tls_client(*tls, options.ca_file));
  }
  fail_in(Stage::upgrade, check_headers(options));
  return std::make_shared<WsImpl>(io, std::move(options), std::move(handlers), std::move(tls),
                                  std::move(setup_failure));
}

}  // namespace backupy::net
