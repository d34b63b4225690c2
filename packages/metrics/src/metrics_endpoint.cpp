#include "backupy/metrics/metrics_endpoint.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <chrono>
#include <list>
#include <stdexcept>

#include "backupy/core/log.hpp"
#include "backupy/metrics/agent_metrics.hpp"

namespace backupy::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

const core::Logger kLog("metrics");

constexpr std::uint32_t kHeaderLimit = 8 * 1024;
constexpr std::chrono::seconds kRequestTimeout{10};

http::response<http::string_body> answer(const http::request<http::empty_body>& request,
                                         const EndpointHandlers& handlers) {
  http::response<http::string_body> response;
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, "backupy-agent");
  const std::string_view path(request.target().data(), request.target().size());
  const std::string_view route = path.substr(0, path.find('?'));
  const bool known = route == "/metrics" || route == "/healthz";
  if (!known) {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "not found: this endpoint serves /metrics and /healthz\n";
  } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "method not allowed\n";
  } else if (route == "/metrics") {
    response.result(http::status::ok);
    response.set(http::field::content_type, std::string(kContentType));
    response.body() = handlers.metrics();
  } else {
    response.result(http::status::ok);
    response.set(http::field::content_type, "application/json");
    response.set(http::field::cache_control, "no-store");
    response.body() = handlers.healthz() + "\n";
  }
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

}  // namespace

ListenAddress parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    throw std::invalid_argument("listen address \"" + std::string(text) + "\" is not host:port");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw std::invalid_argument("listen address \"" + std::string(text) +
                                "\": write an IPv6 host in brackets, e.g. [::1]:9090");
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535 ||
      host.empty()) {
    throw std::invalid_argument("listen address \"" + std::string(text) +
                                "\" is not host:port with a port from 0 to 65535");
  }
  return {std::string(host), static_cast<std::uint16_t>(port)};
}

// One connection: read a request, answer, repeat while the client keeps it alive.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const EndpointHandlers> handlers)
      : stream_(std::move(socket)), handlers_(std::move(handlers)) {}

  void start() { read(); }
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }
  bool open() const { return stream_.socket().is_open(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(0);
    stream_.expires_after(kRequestTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != asio::error::operation_aborted &&
          ec != beast::error::timeout && ec != asio::error::eof) {
        kLog.debug("metrics request refused", {{"error", ec.message()}});
        bad_request(ec);
        return;
      }
      close();
      return;
    }
    try {
      response_ = answer(parser_->get(), *handlers_);
    } catch (const std::exception& e) {
      // A failing handler must not take the control thread down with it.
      kLog.error("metrics endpoint cannot answer", {{"error", e.what()}});
      response_ = {};
      response_.result(http::status::internal_server_error);
      response_.set(http::field::content_type, "text/plain; charset=utf-8");
      response_.keep_alive(false);
      response_.body() = "internal error; see the agent log\n";
      response_.prepare_payload();
    }
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                        if (write_ec || !self->response_.keep_alive()) {
                          self->close();
                        } else {
                          self->read();
                        }
                      });
  }

  // A malformed or oversized request: say so, then close.
  void bad_request(beast::error_code ec) {
    response_ = {};
    response_.result(http::status::bad_request);
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    response_.keep_alive(false);
    response_.body() = "bad request: " + ec.message() + "\n";
    response_.prepare_payload();
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<const EndpointHandlers> handlers_;
};

struct MetricsEndpoint::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<const EndpointHandlers> h)
      : acceptor(io), handlers(std::move(h)) {}

  tcp::acceptor acceptor;
  std::shared_ptr<const EndpointHandlers> handlers;
  std::list<std::weak_ptr<Connection>> connections;
  bool closed = false;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (self->closed) return;
      if (!ec) self->admit(std::move(socket));
      if (ec && ec != asio::error::operation_aborted) {
        kLog.warn("metrics endpoint cannot accept a connection", {{"error", ec.message()}});
      }
      self->accept();
    });
  }

  void admit(tcp::socket socket) {
    std::erase_if(connections, [](const std::weak_ptr<Connection>& c) {
      auto live = c.lock();
      return !live || !live->open();
    });
    if (connections.size() >= kMaxConnections) {
      beast::error_code ignored;
      socket.close(ignored);  // a scraper retries; a flood does not grow memory
      return;
    }
    auto connection = std::make_shared<Connection>(std::move(socket), handlers);
    connections.push_back(connection);
    connection->start();
  }

  void close() {
    if (closed) return;
    closed = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    for (auto& weak : connections) {
      if (auto live = weak.lock()) live->close();
    }
    connections.clear();
  }
};

MetricsEndpoint::MetricsEndpoint(asio::io_context& io, std::string_view listen_address,
                                 EndpointHandlers handlers)
    : impl_(std::make_shared<Impl>(io,
                                   std::make_shared<const EndpointHandlers>(std::move(handlers)))) {
  const ListenAddress address = parse_listen_address(listen_address);
  const std::string where = "cannot listen on " + std::string(listen_address) + ": ";
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto results =
      resolver.resolve(address.host, std::to_string(address.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    throw std::runtime_error(where + "cannot resolve " + address.host + ": " + ec.message());
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(where + ec.message());
  impl_->accept();
}

MetricsEndpoint::~MetricsEndpoint() {
  close();
}

std::uint16_t MetricsEndpoint::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void MetricsEndpoint::close() {
  impl_->close();
}

}  // namespace backupy::metrics
