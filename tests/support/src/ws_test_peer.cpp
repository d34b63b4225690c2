// All of the peer's Beast code: one io_context on one thread owns every socket,
// so no stream is ever touched by two threads (OpenSSL and Beast streams are
// not thread-safe); test threads only post work and wait on mailboxes.
#include "backupy/test_support/ws_test_peer.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "backupy/net/detail/maybe_tls_stream.hpp"

namespace backupy::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace detail {

// State shared by the peer, its sessions and the test thread.
struct PeerShared {
  explicit PeerShared(WsTestPeerOptions opts) : options(std::move(opts)) {}

  // Posts to the I/O thread unless the peer is shutting down: work queued
  // after the loop has stopped would never run and would keep its session
  // (and with it this object) alive forever.
  template <class Function>
  void post(Function&& function) {
    std::lock_guard lock(mutex);
    if (!stopping) asio::post(io, std::forward<Function>(function));
  }

  const WsTestPeerOptions options;
  asio::io_context io;
  std::optional<ssl::context> tls;  // outlives every session: they hold this object
  tcp::acceptor acceptor{io};
  // Keeps run() going while idle; released at shutdown so that the loop ends
  // only after every aborted operation has completed and freed its session.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  mutable std::mutex mutex;
  std::condition_variable accepted_cv;
  bool stopping = false;
  int reject_status = 0;
  int rejected = 0;
  int failed_handshakes = 0;
  std::vector<UpgradeRequest> requests;
  std::deque<std::shared_ptr<PeerSession>> accepted;
  std::vector<std::weak_ptr<PeerSession>> sessions;  // to abort them at shutdown
};

constexpr std::uint16_t kNoStatusCode = 1005;  // RFC 6455: close frame without a code
constexpr std::uint16_t kAbnormalCode = 1006;  // RFC 6455: no close frame at all

// TCP with or without TLS, chosen per peer at run time, so that Beast's websocket::stream is
// instantiated once rather than once per transport (that instantiation is most of this
// file's compile time). Its async_teardown does what Beast's own overloads would do.
using PeerStream = net::detail::MaybeTlsStream;
using net::detail::TlsStream;

// One connection. The mailbox (inbox, closed state) is shared with test
// threads under mutex_; everything else belongs to the I/O thread.
class PeerSession : public std::enable_shared_from_this<PeerSession> {
 public:
  struct Outgoing {
    enum class Kind { binary, text, raw, ping, close } kind;
    std::string data;
    std::uint16_t code = 0;
  };

  PeerSession(std::shared_ptr<PeerShared> shared, tcp::socket socket)
      : shared_(std::move(shared)),
        ws_(std::move(socket), shared_->tls ? &*shared_->tls : nullptr) {}

  PeerShared& shared() { return *shared_; }
  const UpgradeRequest& request() const { return request_; }

  // ---- test threads

  std::optional<PeerMessage> take(std::chrono::milliseconds timeout, bool binary_only) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return !inbox_.empty() || closed_; });
    if (inbox_.empty() || (binary_only && inbox_.front().text)) return std::nullopt;
    PeerMessage message = std::move(inbox_.front());
    inbox_.pop_front();
    return message;
  }

  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return closed_; })) return std::nullopt;
    return close_code_;
  }

  bool is_open() const {
    std::lock_guard lock(mutex_);
    return !closed_;
  }

  // ---- I/O thread

  void run() {
    if (TlsStream* tls = ws_.next_layer().tls()) {
      tls->async_handshake(ssl::stream_base::server, [self = shared_from_this()](error_code ec) {
        if (ec) {
          std::lock_guard lock(self->shared().mutex);
          ++self->shared().failed_handshakes;
          return self->mark_closed(kAbnormalCode);
        }
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  void enqueue(Outgoing item) {
    if (silent_ || !upgraded_) return;
    outbox_.push_back(std::move(item));
    write_next();
  }

  void silence() {
    silent_ = true;
    // Keep the in-flight item: its buffer is in use until the write completes.
    if (writing_) outbox_.resize(1);
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().cancel(ignored);
  }

  void abort() {
    silent_ = true;
    if (writing_) outbox_.resize(1);
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    mark_closed(kAbnormalCode);
  }

 private:
  void deliver(PeerMessage message) {
    std::lock_guard lock(mutex_);
    inbox_.push_back(std::move(message));
    cv_.notify_all();
  }

  void mark_closed(std::uint16_t code) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    close_code_ = code;
    cv_.notify_all();
  }

  void read_request() {
    http::async_read(
        ws_.next_layer(), buffer_, http_request_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(error_code ec) {
    if (ec) return mark_closed(kAbnormalCode);
    auto header = [&](http::field field) { return std::string(http_request_[field]); };
    request_.target = std::string(http_request_.target());
    request_.host = header(http::field::host);
    request_.authorization = header(http::field::authorization);
    request_.user_agent = header(http::field::user_agent);

    const std::string path = request_.target.substr(0, request_.target.find('?'));
    int status = 0;
    {
      std::lock_guard lock(shared().mutex);
      shared().requests.push_back(request_);
      status = path != shared().options.path ? 404 : shared().reject_status;
      // Counted before answering, so a client that has seen the refusal also sees the count.
      if (status != 0) ++shared().rejected;
    }
    if (status != 0) return refuse(status);

    ws_.auto_fragment(false);
    ws_.read_message_max(shared().options.max_message);
    ws_.async_accept(http_request_,
                     [self = shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  void refuse(int status) {
    response_.result(static_cast<unsigned>(status));
    response_.version(11);
    response_.set(http::field::content_type, "text/plain");
    response_.body() = "refused by the test peer\n";
    response_.keep_alive(false);
    response_.prepare_payload();
    http::async_write(
        ws_.next_layer(), response_, [self = shared_from_this()](error_code, std::size_t) {
          error_code ignored;
          beast::get_lowest_layer(self->ws_).socket().shutdown(tcp::socket::shutdown_send, ignored);
          self->mark_closed(kAbnormalCode);
        });
  }

  void on_accept(error_code ec) {
    if (ec) return mark_closed(kAbnormalCode);
    upgraded_ = true;
    {
      std::lock_guard lock(shared().mutex);
      shared().accepted.push_back(shared_from_this());
      shared().accepted_cv.notify_all();
    }
    read_next();
  }

  void read_next() {
    ws_.async_read(inbound_,
                   [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (silent_) return;
    if (ec) {
      read_done_ = true;
      close_socket_when_idle();
      // Beast records a received close frame before answering it, so the code
      // is known even when the rest of the closing handshake then fails.
      const auto code = static_cast<std::uint16_t>(ws_.reason().code);
      if (code != websocket::close_code::none) return mark_closed(code);
      return mark_closed(ec == websocket::error::closed ? kNoStatusCode : kAbnormalCode);
    }
    deliver({beast::buffers_to_string(inbound_.data()), ws_.got_text()});
    inbound_.consume(inbound_.size());
    read_next();
  }

  void write_next() {
    if (writing_ || outbox_.empty() || silent_) return;
    writing_ = true;
    Outgoing& item = outbox_.front();
    auto done = [self = shared_from_this()](error_code, std::size_t = 0) { self->on_written(); };
    switch (item.kind) {
      case Outgoing::Kind::binary:
      case Outgoing::Kind::text:
        ws_.text(item.kind == Outgoing::Kind::text);
        ws_.async_write(asio::buffer(item.data), done);
        break;
      case Outgoing::Kind::raw:
        asio::async_write(ws_.next_layer(), asio::buffer(item.data), done);
        break;
      case Outgoing::Kind::ping: ws_.async_ping({}, done); break;
      case Outgoing::Kind::close:
        ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(item.code), item.data),
            done);
        break;
    }
  }

  void on_written() {
    writing_ = false;
    outbox_.pop_front();
    if (read_done_) return close_socket_when_idle();
    write_next();
  }

  // Once the connection is over, the server closes TCP first (RFC 6455 7.1.1)
  // as real servers do; Beast itself leaves the socket open after a TLS
  // teardown, and a client waiting for EOF would wait for nothing.
  void close_socket_when_idle() {
    if (writing_) return;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  // Declared first: destroyed last, after the socket that lives in its io_context.
  std::shared_ptr<PeerShared> shared_;
  websocket::stream<PeerStream> ws_;
  UpgradeRequest request_;  // written before the session is published
  beast::flat_buffer buffer_;
  beast::flat_buffer inbound_;
  http::request<http::string_body> http_request_;
  http::response<http::string_body> response_;
  std::deque<Outgoing> outbox_;  // front() is in flight while writing_
  bool writing_ = false;
  bool upgraded_ = false;
  bool silent_ = false;
  bool read_done_ = false;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<PeerMessage> inbox_;
  bool closed_ = false;
  std::uint16_t close_code_ = 0;
};

namespace {

void accept_next(const std::shared_ptr<PeerShared>& shared) {
  shared->acceptor.async_accept([shared](error_code ec, tcp::socket socket) {
    if (ec) return;  // acceptor closed: the peer is shutting down
    auto session = std::make_shared<PeerSession>(shared, std::move(socket));
    {
      std::lock_guard lock(shared->mutex);
      std::erase_if(shared->sessions, [](const auto& weak) { return weak.expired(); });
      shared->sessions.push_back(session);
    }
    session->run();
    accept_next(shared);
  });
}

}  // namespace
}  // namespace detail

// ---------------------------------------------------------------- connection

WsPeerConnection::WsPeerConnection(std::shared_ptr<detail::PeerSession> session)
    : session_(std::move(session)) {}

WsPeerConnection::~WsPeerConnection() {
  drop();
}

const UpgradeRequest& WsPeerConnection::request() const {
  return session_->request();
}

std::optional<PeerMessage> WsPeerConnection::read_message(std::chrono::milliseconds timeout) {
  return session_->take(timeout, false);
}

std::optional<std::string> WsPeerConnection::read_binary(std::chrono::milliseconds timeout) {
  std::optional<PeerMessage> message = session_->take(timeout, true);
  if (!message) return std::nullopt;
  return std::move(message->payload);
}

namespace {

void post_item(const std::shared_ptr<detail::PeerSession>& session,
               detail::PeerSession::Outgoing item) {
  session->shared().post(
      [session, item = std::move(item)]() mutable { session->enqueue(std::move(item)); });
}

}  // namespace

void WsPeerConnection::send_binary(std::string_view payload) {
  post_item(session_, {detail::PeerSession::Outgoing::Kind::binary, std::string(payload)});
}

void WsPeerConnection::send_text(std::string_view payload) {
  post_item(session_, {detail::PeerSession::Outgoing::Kind::text, std::string(payload)});
}

void WsPeerConnection::send_raw(std::string_view bytes) {
  post_item(session_, {detail::PeerSession::Outgoing::Kind::raw, std::string(bytes)});
}

void WsPeerConnection::ping() {
  post_item(session_, {detail::PeerSession::Outgoing::Kind::ping, {}});
}

void WsPeerConnection::close(std::uint16_t code, std::string_view reason) {
  post_item(session_, {detail::PeerSession::Outgoing::Kind::close, std::string(reason), code});
}

std::optional<std::uint16_t> WsPeerConnection::wait_closed(std::chrono::milliseconds timeout) {
  return session_->wait_closed(timeout);
}

bool WsPeerConnection::is_open() const {
  return session_->is_open();
}

void WsPeerConnection::go_silent() {
  session_->shared().post([session = session_] { session->silence(); });
}

void WsPeerConnection::drop() {
  session_->shared().post([session = session_] { session->abort(); });
}

// ---------------------------------------------------------------------- peer

WsTestPeer::WsTestPeer(WsTestPeerOptions options)
    : shared_(std::make_shared<detail::PeerShared>(std::move(options))) {
  const WsTestPeerOptions& opts = shared_->options;
  shared_->reject_status = opts.reject_with_status;
  if (opts.tls) {
    shared_->tls.emplace(ssl::context::tls_server);
    try {
      shared_->tls->use_certificate_chain_file(opts.cert_file);
      shared_->tls->use_private_key_file(opts.key_file, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error("WsTestPeer: cannot load " + opts.cert_file + " / " + opts.key_file +
                               ": " + e.what());
    }
  }
  const tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
  shared_->acceptor.open(loopback.protocol());
  shared_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  shared_->acceptor.bind(loopback);
  shared_->acceptor.listen();
  detail::accept_next(shared_);
  shared_->work.emplace(shared_->io.get_executor());
  shared_->thread = std::thread([shared = shared_.get()] { shared->io.run(); });
}

WsTestPeer::~WsTestPeer() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
  }
  // Close everything; the loop then runs out of work and the thread ends.
  asio::post(shared_->io, [shared = shared_.get()] {
    error_code ignored;
    shared->acceptor.close(ignored);
    std::vector<std::weak_ptr<detail::PeerSession>> sessions;
    {
      std::lock_guard lock(shared->mutex);
      sessions = shared->sessions;
    }
    for (const auto& weak : sessions) {
      if (auto session = weak.lock()) session->abort();
    }
    shared->work.reset();
  });
  shared_->thread.join();
  // Unclaimed sessions refer back to shared_: break the cycle.
  std::lock_guard lock(shared_->mutex);
  shared_->accepted.clear();
}

std::uint16_t WsTestPeer::port() const {
  return shared_->acceptor.local_endpoint().port();
}

std::unique_ptr<WsPeerConnection> WsTestPeer::accept(std::chrono::milliseconds timeout) {
  std::unique_lock lock(shared_->mutex);
  if (!shared_->accepted_cv.wait_for(lock, timeout, [&] { return !shared_->accepted.empty(); })) {
    return nullptr;
  }
  std::shared_ptr<detail::PeerSession> session = std::move(shared_->accepted.front());
  shared_->accepted.pop_front();
  return std::make_unique<WsPeerConnection>(std::move(session));
}

void WsTestPeer::set_reject_status(int status) {
  std::lock_guard lock(shared_->mutex);
  shared_->reject_status = status;
}

int WsTestPeer::rejected_attempts() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->rejected;
}

int WsTestPeer::failed_handshakes() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->failed_handshakes;
}

std::vector<UpgradeRequest> WsTestPeer::seen_requests() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->requests;
}

std::vector<std::string> WsTestPeer::seen_authorization_headers() const {
  std::vector<std::string> out;
  for (const UpgradeRequest& request : seen_requests()) out.push_back(request.authorization);
  return out;
}

}  // namespace backupy::test_support
