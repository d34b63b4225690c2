// TLS listener and HTTP routing (Beast, callbacks).
//
// Each accepted TCP connection gets handshake_timeout (default 10 s) in total for the TLS
// handshake and a complete HTTP request with headers of at most kHeaderLimit bytes, so a slow
// or silent client cannot hold a connection open. Routes:
//   GET /healthz           200 {"status":"ok"}
//   GET /metrics           200 Prometheus text format 0.0.4 (cp_metrics.hpp); no token: it
//                          carries only counts and the version (docs/operations.md)
//   GET /v1/agents/connect 401 {"error":"unauthorized"} without a known bearer key, else the
//                          connection is handed to an agent session (WebSocket upgrade)
//   other /v1/...          the operator API (operator_api.hpp; plain C++, answered inline)
//   /objects/...           the embedded object store (object_transfer.cpp; signed URLs, no
//                          bearer token); the connection is handed over after the head
//   anything else          404 {"error":"not found"}
#include "listener.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>

#include "operator_endpoint.hpp"
#include "transport.hpp"

namespace backupy::controlplane::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
constexpr std::uint64_t kBodyLimit = 4 * 1024;
constexpr std::chrono::seconds kShutdownTimeout{2};
constexpr std::string_view kConnectPath = "/v1/agents/connect";
constexpr const char* kServerName = "backupy-control-plane";

std::shared_ptr<asio::ssl::context> make_tls_context(const TlsFiles& files) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  error_code ec;
  ctx->use_certificate_chain_file(files.cert_file.string(), ec);
  if (ec) {
    throw std::runtime_error("tls.cert_file: cannot load \"" + files.cert_file.string() +
                             "\": " + ec.message());
  }
  ctx->use_private_key_file(files.key_file.string(), asio::ssl::context::pem, ec);
  if (ec) {
    throw std::runtime_error("tls.key_file: cannot load \"" + files.key_file.string() +
                             "\": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw std::runtime_error("tls.key_file: \"" + files.key_file.string() +
                             "\" does not match the certificate in \"" + files.cert_file.string() +
                             "\"");
  }
  return ctx;
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

class TlsListener;

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                 std::shared_ptr<TlsListener> listener, ServerState& state);
  ~HttpConnection();

  void start() {
    beast::get_lowest_layer(stream_).expires_after(state_.options.handshake_timeout);
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void abort() {
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

 private:
  void on_handshake(error_code ec) {
    if (ec) {
      state_.log.debug(
          "tls_handshake_failed",
          {{"event", "tls_handshake_failed"}, {"remote", remote_}, {"error", ec.message()}});
      return;
    }
    read_request();
  }

  // The head first: object uploads (kObjectsPrefix) stream their bodies elsewhere, everything
  // else is read whole, with a small body limit.
  void read_request() {
    head_ = std::make_unique<HeadParser>();
    head_->header_limit(kHeaderLimit);
    // Checked once the route is known. Not boost::none: Beast 1.74 compares the Content-Length
    // with the optional limit as "len > none", which is always true.
    head_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(
        stream_, buffer_, *head_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_head(error_code ec) {
    if (ec) return on_read(ec);
    const auto target = head_->get().target();
    if (std::string_view(target.data(), target.size()).starts_with(kObjectsPrefix)) {
      beast::get_lowest_layer(stream_).expires_never();
      detach_from_listener();  // the stream is moved away: close() must not touch it any more
      return start_object_transfer(std::move(stream_), std::move(buffer_), std::move(head_),
                                   remote_, state_);
    }
    parser_.emplace(std::move(*head_));
    head_.reset();
    parser_->body_limit(kBodyLimit);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec == http::error::end_of_stream) return shutdown();
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      state_.log.warn(
          "http_request_too_large",
          {{"event", "http_request_too_large"}, {"remote", remote_}, {"error", ec.message()}});
      HttpRequest request;
      request.version(11);
      return respond(request,
                     ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                     : http::status::payload_too_large,
                     R"({"error":"request too large"})", false);
    }
    if (ec) {
      state_.log.debug(
          "http_read_failed",
          {{"event", "http_read_failed"}, {"remote", remote_}, {"error", ec.message()}});
      return;
    }
    route(parser_->release());
  }

  void route(HttpRequest request) {
    std::string_view path(request.target().data(), request.target().size());
    path = path.substr(0, path.find('?'));
    if (path == "/healthz") {
      if (request.method() != http::verb::get) {
        return respond(request, http::status::method_not_allowed,
                       R"({"error":"method not allowed"})", request.keep_alive());
      }
      return respond(request, http::status::ok, R"({"status":"ok"})", request.keep_alive());
    }
    if (path == "/metrics") {
      if (request.method() != http::verb::get) {
        return respond(request, http::status::method_not_allowed,
                       R"({"error":"method not allowed"})", request.keep_alive());
      }
      return respond(request, http::status::ok, scrape_metrics(state_), request.keep_alive(),
                     kMetricsContentType);
    }
    if (is_operator_path(path)) return serve_operator(request);
    if (path != kConnectPath) {
      return respond(request, http::status::not_found, R"({"error":"not found"})",
                     request.keep_alive());
    }
    const auto authorization = request.find(http::field::authorization);
    std::optional<std::string_view> key;
    if (authorization != request.end()) {
      key = bearer_token(
          std::string_view(authorization->value().data(), authorization->value().size()));
    }
    const AgentEntry* agent = key ? state_.registry.authenticate(*key) : nullptr;
    if (agent == nullptr) {
      // Never log the key itself, not even a prefix.
      const char* reason = authorization == request.end() ? "missing authorization header"
                           : !key                         ? "malformed authorization header"
                                                          : "unknown agent key";
      state_.metrics.session_rejected(authorization == request.end() ? "missing_authorization"
                                      : !key                         ? "malformed_authorization"
                                                                     : "unknown_key");
      state_.log.warn("auth_failed", {{"event", "auth_failed"},
                                      {"remote", remote_},
                                      {"reason", reason},
                                      {"path", std::string(path)}});
      return respond(request, http::status::unauthorized, R"({"error":"unauthorized"})", false);
    }
    if (request.method() != http::verb::get || !is_websocket_upgrade(request)) {
      state_.metrics.session_rejected("not_websocket");
      return respond(request, http::status::upgrade_required,
                     R"({"error":"websocket upgrade required"})", false);
    }
    if (state_.stopping) {
      state_.metrics.session_rejected("shutting_down");
      return respond(request, http::status::service_unavailable, R"({"error":"shutting down"})",
                     false);
    }
    beast::get_lowest_layer(stream_).expires_never();
    detach_from_listener();  // the stream is moved away: close() must not touch it any more
    start_agent_session(std::move(stream_), std::move(request), agent->id, remote_, state_);
  }

  void detach_from_listener();

  void serve_operator(const HttpRequest& request) {
    ApiRequest api;
    api.method = std::string(request.method_string());
    api.target = std::string(request.target());
    const auto header = [&](auto field) -> std::optional<std::string> {
      const auto it = request.find(field);
      if (it == request.end()) return std::nullopt;
      return std::string(it->value());
    };
    api.authorization = header(http::field::authorization);
    api.idempotency_key = header("Idempotency-Key");
    api.body = request.body();
    api.remote = remote_;
    const ApiResponse response = serve_operator_request(state_, api);
    state_.metrics.api_request(response.status);
    respond(request, static_cast<http::status>(response.status), response.body,
            request.keep_alive());
  }

  static bool is_websocket_upgrade(const HttpRequest& request) {
    const auto upgrade = request.find(http::field::upgrade);
    return upgrade != request.end() &&
           iequals(std::string_view(upgrade->value().data(), upgrade->value().size()), "websocket");
  }

  void respond(const HttpRequest& request, http::status status, std::string_view body,
               bool keep_alive, std::string_view content_type = "application/json") {
    auto response = std::make_shared<http::response<http::string_body>>(status, request.version());
    response->set(http::field::server, kServerName);
    response->set(http::field::content_type, std::string(content_type));
    if (status == http::status::unauthorized) {
      response->set(http::field::www_authenticate, "Bearer");
    }
    response->body() = std::string(body);
    response->keep_alive(keep_alive && !state_.stopping);
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](error_code ec, std::size_t) {
                        if (ec) return;
                        if (response->keep_alive()) {
                          beast::get_lowest_layer(self->stream_)
                              .expires_after(self->state_.options.handshake_timeout);
                          self->read_request();
                        } else {
                          self->shutdown();
                        }
                      });
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(kShutdownTimeout);
    stream_.async_shutdown([self = shared_from_this()](error_code) {});
  }

  ServerState& state_;
  ConnectionSlot slot_;
  std::shared_ptr<asio::ssl::context> tls_;  // keeps the context alive across a TLS reload
  std::shared_ptr<TlsListener> listener_;
  TlsStream stream_;
  beast::flat_buffer buffer_;
  std::unique_ptr<HeadParser> head_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string remote_;
};

class TlsListener final : public Listener, public std::enable_shared_from_this<TlsListener> {
 public:
  TlsListener(asio::io_context& io, ServerState& state, const ServerConfig& config)
      : state_(state), acceptor_(io), retry_timer_(io) {
    tls_ = make_tls_context(config.tls);
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(config.listen_host, ec);
    if (ec) throw std::runtime_error("listen: invalid address \"" + config.listen_host + "\"");
    const tcp::endpoint endpoint(address, config.listen_port);
    const std::string where = endpoint_text(endpoint);
    if (acceptor_.open(endpoint.protocol(), ec); ec) {
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec); ec) {
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
      throw std::runtime_error("cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
  }

  std::uint16_t port() const override { return port_; }

  void start() override { accept(); }

  void close() override {
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    // Copy first: abort() may destroy connections, which unregister themselves.
    const std::set<HttpConnection*> pending = connections_;
    for (HttpConnection* connection : pending) connection->abort();
  }

  void load_tls(const TlsFiles& files) override { tls_ = make_tls_context(files); }

  void add(HttpConnection* connection) { connections_.insert(connection); }
  void remove(HttpConnection* connection) { connections_.erase(connection); }

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
      self->on_accept(ec, std::move(socket));
    });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // E.g. EMFILE: back off briefly instead of spinning.
      state_.log.warn("accept_failed", {{"event", "accept_failed"}, {"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->accept();
      });
      return;
    }
    std::make_shared<HttpConnection>(std::move(socket), tls_, shared_from_this(), state_)->start();
    accept();
  }

  ServerState& state_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::uint16_t port_ = 0;
  std::set<HttpConnection*> connections_;
};

HttpConnection::HttpConnection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls,
                               std::shared_ptr<TlsListener> listener, ServerState& state)
    : state_(state),
      slot_(state),
      tls_(std::move(tls)),
      listener_(std::move(listener)),
      stream_(std::move(socket), *tls_) {
  error_code ec;
  const tcp::endpoint remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  remote_ = ec ? "unknown" : endpoint_text(remote);
  listener_->add(this);
}

HttpConnection::~HttpConnection() {
  listener_->remove(this);
}

void HttpConnection::detach_from_listener() {
  listener_->remove(this);
}

}  // namespace

std::shared_ptr<Listener> Listener::create(asio::io_context& io, ServerState& state,
                                           const ServerConfig& config) {
  return std::make_shared<TlsListener>(io, state, config);
}

}  // namespace backupy::controlplane::detail
