// The second (and last) Beast translation unit of packages/upload: one request, one
// connection, callbacks on a private io_context (see build-notes.md on compile time). The
// answer is read through a buffer_body so that a download streams in fixed chunks.
#include "backupy/upload/https_request.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <limits>
#include <memory>

#include "backupy/core/build_info.hpp"
#include "backupy/net/detail/maybe_tls_stream.hpp"
#include "backupy/net/detail/tls_client.hpp"
#include "backupy/net/url.hpp"
#include "upload_text.hpp"

namespace backupy::upload {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Failure = HttpsResponse::Failure;

constexpr std::size_t kChunkBytes = 64 * 1024;

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, net::Url url, const HttpsRequest& request,
           const HttpsOptions& options, ssl::context* tls, const BodySink& sink)
      : url_(std::move(url)),
        request_(request),
        options_(options),
        sink_(sink),
        resolver_(io),
        stream_(io, tls),
        chunk_(std::make_unique<std::array<char, kChunkBytes>>()) {}

  void start() {
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  HttpsResponse& response() { return response_; }

 private:
  beast::tcp_stream& tcp_layer() { return stream_.next_layer(); }
  std::string where() const { return detail::host_port(url_.host, url_.port); }

  void fail(Failure failure, std::string message) {
    response_.failure = failure;
    response_.error = std::move(message);
    beast::close_socket(tcp_layer());
  }

  // A transport error after the connection was made.
  void fail_io(const error_code& ec, const std::string& what) {
    if (ec == beast::error::timeout) {
      return fail(Failure::timeout,
                  what + ": no progress for " + detail::format_duration(options_.idle_timeout));
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      return fail(Failure::io, what + ": the server closed the connection");
    }
    fail(Failure::io, what + ": " + ec.message());
  }

  void on_resolve(error_code ec, const tcp::resolver::results_type& results) {
    if (ec) return fail(Failure::resolve, "cannot resolve " + url_.host + ": " + ec.message());
    tcp_layer().expires_after(options_.connect_timeout);
    tcp_layer().async_connect(
        results,
        [self = shared_from_this()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (ec == asio::error::connection_refused) {
      return fail(Failure::connect_refused,
                  "cannot connect to " + where() + ": connection refused (nothing listens there)");
    }
    if (ec == beast::error::timeout) {
      return fail(Failure::timeout, "cannot connect to " + where() + ": timed out after " +
                                        detail::format_duration(options_.connect_timeout));
    }
    if (ec) return fail(Failure::connect, "cannot connect to " + where() + ": " + ec.message());
    net::detail::TlsStream* tls = stream_.tls();
    if (tls == nullptr) return send();
    net::detail::prepare_tls_client(*tls, url_.host);
    tcp_layer().expires_after(options_.connect_timeout);
    tls->async_handshake(ssl::stream_base::client,
                         [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(error_code ec) {
    if (!ec) return send();
    net::detail::TlsStream& tls = *stream_.tls();
    const std::string what = "TLS handshake with " + where() + " failed: ";
    if (net::detail::tls_verify_failed(tls)) {
      return fail(Failure::tls_verify, what + net::detail::tls_failure_detail(ec, tls));
    }
    if (ec == beast::error::timeout) {
      return fail(Failure::timeout,
                  what + "timed out after " + detail::format_duration(options_.connect_timeout));
    }
    const std::string detail = net::detail::tls_failure_detail(ec, tls);
    fail(Failure::tls, what + (detail.empty() ? ec.message() : detail));
  }

  void send() {
    message_.method_string(request_.method);
    message_.target(url_.target);
    message_.version(11);
    message_.set(http::field::host, url_.host_header());
    message_.set(http::field::user_agent, "backupy-control-plane/" + std::string(core::kVersion));
    bool typed = false;
    for (const auto& [name, value] : request_.headers) {
      message_.set(name, value);
      typed |= beast::iequals(name, "Content-Type");
    }
    if (!request_.body.empty() && !typed) {
      message_.set(http::field::content_type, "application/json");
    }
    message_.body() = request_.body;
    message_.keep_alive(false);
    message_.prepare_payload();
    tcp_layer().expires_after(options_.idle_timeout);
    http::async_write(stream_, message_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_written(ec);
    });
  }

  void on_written(error_code ec) {
    if (ec) return fail_io(ec, "cannot send the request to " + where());
    // Enforced below, for in-memory answers only. Not boost::none: Beast 1.74 compares the
    // Content-Length with the optional and treats "none" as smaller than any length.
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    // The answer to HEAD announces a Content-Length but carries no body.
    parser_.skip(request_.method == "HEAD");
    tcp_layer().expires_after(options_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(error_code ec) {
    if (ec) return fail_io(ec, "no answer from " + where());
    response_.status = static_cast<int>(parser_.get().result_int());
    if (const auto length = parser_.content_length()) response_.content_length = *length;
    streaming_ = sink_ && response_.status / 100 == 2;
    if (streaming_ && options_.max_sink_bytes && response_.content_length &&
        *response_.content_length > *options_.max_sink_bytes) {
      return fail(Failure::too_large, "the answer from " + where() + " announces " +
                                          std::to_string(*response_.content_length) +
                                          " bytes, more than the limit of " +
                                          detail::format_bytes(*options_.max_sink_bytes));
    }
    read_body();
  }

  void read_body() {
    if (parser_.is_done()) return;  // the answer is complete: run() returns
    parser_.get().body().data = chunk_->data();
    parser_.get().body().size = chunk_->size();
    tcp_layer().expires_after(options_.idle_timeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(error_code ec) {
    if (ec == http::error::need_buffer) ec = {};  // the chunk is full: hand it on
    if (ec) {
      return fail_io(ec, "answer from " + where() + " interrupted after " +
                             std::to_string(response_.body_bytes) + " bytes");
    }
    const std::size_t got = chunk_->size() - parser_.get().body().size;
    const std::string_view data(chunk_->data(), got);
    response_.body_bytes += got;
    if (streaming_) {
      if (options_.max_sink_bytes && response_.body_bytes > *options_.max_sink_bytes) {
        return fail(Failure::too_large, "the answer from " + where() +
                                            " is larger than the limit of " +
                                            detail::format_bytes(*options_.max_sink_bytes));
      }
      if (got > 0 && !sink_(data)) return fail(Failure::sink, "the download was aborted");
    } else {
      if (response_.body.size() + got > options_.max_body_bytes) {
        return fail(Failure::too_large, "the answer from " + where() + " is larger than " +
                                            detail::format_bytes(options_.max_body_bytes));
      }
      response_.body.append(data);
    }
    read_body();
  }

  net::Url url_;
  const HttpsRequest& request_;
  const HttpsOptions& options_;
  const BodySink& sink_;
  tcp::resolver resolver_;
  net::detail::MaybeTlsStream stream_;
  http::request<http::string_body> message_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::unique_ptr<std::array<char, kChunkBytes>> chunk_;
  HttpsResponse response_;
  bool streaming_ = false;
};

}  // namespace

HttpsResponse https_request(const HttpsRequest& request, const HttpsOptions& options,
                            const BodySink& sink) {
  HttpsResponse bad;
  bad.failure = Failure::bad_url;
  std::string why;
  std::optional<net::Url> url = net::parse_url(request.url, &why);
  if (!url || (url->scheme != "https" && url->scheme != "http")) {
    bad.error = "invalid URL " + detail::display_url(request.url) +
                (why.empty() ? ": expected https://host[:port]/path" : ": " + why);
    return bad;
  }
  if (!url->tls() && !detail::is_loopback_host(url->host)) {
    bad.error =
        "refusing " + detail::display_url(*url) + ": plain http is allowed only to loopback hosts";
    return bad;
  }
  std::optional<ssl::context> tls;
  if (url->tls()) {
    tls.emplace(ssl::context::tls_client);
    if (std::string error = net::detail::configure_tls_client(*tls, options.ca_file);
        !error.empty()) {
      HttpsResponse failed;
      failed.failure = Failure::tls;
      failed.error = std::move(error);
      return failed;
    }
  }
  asio::io_context io{1};
  auto exchange = std::make_shared<Exchange>(io, std::move(*url), request, options,
                                             tls ? &*tls : nullptr, sink);
  exchange->start();
  io.run();
  return std::move(exchange->response());
}

std::string display_url(std::string_view url) {
  return detail::display_url(url);
}

}  // namespace backupy::upload
