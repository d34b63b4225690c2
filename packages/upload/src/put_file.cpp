// The only translation unit of packages/upload that instantiates Beast (see build-notes.md:
// callbacks, not coroutines). One Attempt is one connection and one PUT; put_file() runs
// attempts on a private io_context and decides about retries between them.
//
// The body is not a Beast body type: the request head goes through Beast's serializer with an
// explicit Content-Length, then the file follows as raw bytes in fixed chunks read with
// pread(). That keeps memory constant, makes progress exact, and cannot fall back to chunked
// transfer encoding (which S3 refuses with 411). The response is read while the body is
// still being written, so an early answer (S3 rejecting a bad signature before the body is
// complete) is reported as what it is rather than as a broken pipe.
#include "backupy/upload/put_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "backupy/core/build_info.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"
#include "backupy/net/detail/maybe_tls_stream.hpp"
#include "backupy/net/detail/proxy_tunnel.hpp"
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
using detail::format_duration;

constexpr std::size_t kChunkBytes = 256 * 1024;        // one write; the only body buffer
constexpr std::uint64_t kMaxResponseBody = 64 * 1024;  // S3 error documents are tiny

// An open file descriptor, closed on every path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct AttemptResult {
  enum class Kind { ok, retry, fatal, cancelled };
  Kind kind = Kind::retry;
  int http_status = 0;
  std::string message;
  std::string etag;
  std::optional<std::chrono::milliseconds> retry_after;
};

struct AttemptSetup {
  net::Url url;
  std::optional<net::ProxyConfig> proxy;
  ssl::context* tls = nullptr;  // set for https://
  const UploadPolicy* policy = nullptr;
  int fd = -1;
  std::string file_text;  // the spool file's path, for messages
  std::uint64_t size = 0;
  const std::function<void(std::uint64_t)>* on_progress = nullptr;
};

class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(asio::io_context& io, const AttemptSetup& setup)
      : setup_(setup),
        resolver_(io),
        deadline_(io),
        stream_(io, setup.tls),
        chunk_(std::make_unique<std::array<char, kChunkBytes>>()) {}

  void start(std::function<void(AttemptResult)> done) {
    done_ = std::move(done);
    arm_deadline(policy().connect_timeout);
    resolver_.async_resolve(
        dial_host(), std::to_string(dial_port()), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
          self->on_resolve(ec, std::move(r));
        });
  }

  // Runs on the io_context: the pending operations fail at once and report "cancelled".
  void cancel() {
    if (finished_) return;
    cancelled_ = true;
    abort_io();
  }

 private:
  enum class Phase { connect, tls, head, body, response };

  const UploadPolicy& policy() const { return *setup_.policy; }
  const net::Url& url() const { return setup_.url; }
  const std::string& dial_host() const { return setup_.proxy ? setup_.proxy->host : url().host; }
  std::uint16_t dial_port() const { return setup_.proxy ? setup_.proxy->port : url().port; }
  std::string target_text() const { return detail::host_port(url().host, url().port); }
  std::string dial_text() const {
    return (setup_.proxy ? "proxy " : "") + detail::host_port(dial_host(), dial_port());
  }
  beast::tcp_stream& tcp_layer() { return stream_.next_layer(); }

  // One deadline: connect_timeout for the dial (resolve .. TLS), then idle_timeout re-armed
  // on every bit of progress. The generation ignores a wait that completed just before a
  // re-arm.
  void arm_deadline(std::chrono::milliseconds timeout) {
    const unsigned generation = ++deadline_generation_;
    deadline_timeout_ = timeout;
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (ec || generation != self->deadline_generation_ || self->finished_) return;
      self->timed_out_ = true;
      self->abort_io();  // the pending operations fail and report the timeout
    });
  }

  void abort_io() {
    ++deadline_generation_;
    deadline_.cancel();
    resolver_.cancel();
    beast::close_socket(tcp_layer());
  }

  void finish(AttemptResult result) {
    if (finished_) return;
    finished_ = true;
    abort_io();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  // A transport step failed. Retryable unless told otherwise; a timeout or cancellation
  // overrides the error's own text.
  void fail(const std::string& what, const error_code& ec, std::string why = {},
            AttemptResult::Kind kind = AttemptResult::Kind::retry) {
    AttemptResult result;
    result.kind = kind;
    if (cancelled_) {
      result.kind = AttemptResult::Kind::cancelled;
      result.message = "cancelled";
      return finish(std::move(result));
    }
    if (timed_out_) {
      result.kind = AttemptResult::Kind::retry;
      why = phase_ <= Phase::tls ? "timed out after " + format_duration(deadline_timeout_)
                                 : "no progress for " + format_duration(deadline_timeout_);
    }
    result.message = what + ": " + (why.empty() ? ec.message() : why);
    finish(std::move(result));
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec) {
      return fail("cannot resolve " + std::string(setup_.proxy ? "proxy " : "") + dial_host(), ec);
    }
    tcp_layer().async_connect(
        results,
        [self = shared_from_this()](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec) return fail("cannot connect to " + dial_text(), ec);
    if (!setup_.proxy) return start_tls();
    net::detail::async_proxy_tunnel(
        tcp_layer(), *setup_.proxy, target_text(), user_agent(),
        [self = shared_from_this()](net::detail::ProxyTunnelResult r) { self->on_tunnel(r); });
  }

  void on_tunnel(const net::detail::ProxyTunnelResult& r) {
    if (finished_) return;
    if (r.ok()) return start_tls();
    // Bad proxy credentials do not fix themselves; a busy or failing proxy might.
    const auto kind =
        r.proxy_status == 407 ? AttemptResult::Kind::fatal : AttemptResult::Kind::retry;
    fail(r.what, r.error, r.why, kind);
  }

  void start_tls() {
    net::detail::TlsStream* tls = stream_.tls();
    if (!tls) return send_head();
    phase_ = Phase::tls;
    net::detail::prepare_tls_client(*tls, url().host);
    tls->async_handshake(ssl::stream_base::client,
                         [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(error_code ec) {
    if (finished_) return;
    if (ec) {
      net::detail::TlsStream& tls = *stream_.tls();
      // A certificate the agent does not trust stays untrusted until an operator acts.
      const auto kind = net::detail::tls_verify_failed(tls) ? AttemptResult::Kind::fatal
                                                            : AttemptResult::Kind::retry;
      return fail("TLS handshake with " + target_text() + " failed", ec,
                  net::detail::tls_failure_detail(ec, tls), kind);
    }
    send_head();
  }

  static std::string user_agent() { return "backupy-agent/" + std::string(core::kVersion); }

  void send_head() {
    phase_ = Phase::head;
    arm_deadline(policy().idle_timeout);
    request_.method(http::verb::put);
    request_.target(url().target);
    request_.version(11);
    request_.set(http::field::host, url().host_header());
    request_.set(http::field::user_agent, user_agent());
    request_.set(http::field::content_type, "application/octet-stream");
    request_.content_length(setup_.size);  // definite length: never chunked
    serializer_.emplace(request_);
    http::async_write_header(
        stream_, *serializer_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_head_written(ec); });
  }

  void on_head_written(error_code ec) {
    if (finished_) return;
    if (ec) return fail("cannot send the request to " + target_text(), ec);
    phase_ = Phase::body;
    arm_deadline(policy().idle_timeout);
    parser_.body_limit(kMaxResponseBody);
    http::async_read(
        stream_, response_buffer_, parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_response(ec); });
    write_body();
  }

  void write_body() {
    if (sent_ == setup_.size) {
      body_done_ = true;
      phase_ = Phase::response;
      return;
    }
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, setup_.size - sent_));
    ssize_t got = -1;
    do {
      got = ::pread(setup_.fd, chunk_->data(), want, static_cast<off_t>(sent_));
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      const std::string why =
          got < 0 ? std::generic_category().message(errno)
                  : "it shrank to " + std::to_string(sent_) + " bytes during the upload";
      return fail("cannot read spool file " + setup_.file_text, {}, why,
                  AttemptResult::Kind::fatal);
    }
    asio::async_write(stream_, asio::buffer(chunk_->data(), static_cast<std::size_t>(got)),
                      [self = shared_from_this()](error_code ec, std::size_t n) {
                        self->on_body_written(ec, n);
                      });
  }

  void on_body_written(error_code ec, std::size_t n) {
    if (finished_) return;
    if (ec) {
      // The server may have answered and closed early (a refused signature): its response,
      // or the read error, arrives through on_response, bounded by the idle deadline.
      if (timed_out_ || cancelled_) return fail(sent_text(), ec);
      return;
    }
    sent_ += n;
    arm_deadline(policy().idle_timeout);
    if (*setup_.on_progress) (*setup_.on_progress)(sent_);
    write_body();
  }

  std::string sent_text() const {
    if (body_done_) return "no response from " + target_text();
    return "upload to " + target_text() + " interrupted after " + std::to_string(sent_) + " of " +
           std::to_string(setup_.size) + " bytes";
  }

  void on_response(error_code ec) {
    if (finished_) return;
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof) {
        return fail(sent_text(), ec, "the server closed the connection");
      }
      return fail(sent_text(), ec);
    }
    const auto& response = parser_.get();
    AttemptResult result;
    result.http_status = static_cast<int>(response.result_int());
    if (result.http_status / 100 == 2) {
      if (!body_done_) {
        // Never call an upload complete that the server cannot have received in full.
        result.kind = AttemptResult::Kind::retry;
        result.message = "http " + std::to_string(result.http_status) + " from " + target_text() +
                         " before the whole body was sent (" + std::to_string(sent_) + " of " +
                         std::to_string(setup_.size) + " bytes)";
        return finish(std::move(result));
      }
      result.kind = AttemptResult::Kind::ok;
      if (auto it = response.find(http::field::etag); it != response.end()) {
        result.etag =
            detail::unquote_etag(std::string_view(it->value().data(), it->value().size()));
      }
      return finish(std::move(result));
    }
    const auto reason = response.reason();
    result.message = detail::http_failure(
        result.http_status, std::string_view(reason.data(), reason.size()), response.body());
    result.kind = detail::retryable_status(result.http_status) ? AttemptResult::Kind::retry
                                                               : AttemptResult::Kind::fatal;
    if (auto it = response.find(http::field::retry_after); it != response.end()) {
      result.retry_after =
          detail::parse_retry_after(std::string_view(it->value().data(), it->value().size()));
    }
    finish(std::move(result));
  }

  const AttemptSetup& setup_;
  std::function<void(AttemptResult)> done_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  net::detail::MaybeTlsStream stream_;
  http::request<http::empty_body> request_;
  std::optional<http::request_serializer<http::empty_body>> serializer_;
  http::response_parser<http::string_body> parser_;
  beast::flat_buffer response_buffer_;
  std::unique_ptr<std::array<char, kChunkBytes>> chunk_;

  Phase phase_ = Phase::connect;
  std::chrono::milliseconds deadline_timeout_{0};
  unsigned deadline_generation_ = 0;
  std::uint64_t sent_ = 0;
  bool body_done_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

// What is checked before the first attempt and again before every retry.
std::optional<std::string> precondition_failure(const UploadRequest& request,
                                                const UploadPolicy& policy, std::uint64_t now_ms,
                                                std::uint64_t* size) {
  if (request.expires_at_ms != 0 && now_ms >= request.expires_at_ms) {
    return "upload URL expired at " + core::iso8601_utc(request.expires_at_ms);
  }
  struct stat st {};
  if (::stat(request.file.c_str(), &st) != 0) {
    return "cannot read spool file " + request.file.string() + ": " +
           std::generic_category().message(errno);
  }
  if (!S_ISREG(st.st_mode)) return "spool file " + request.file.string() + " is not a file";
  *size = static_cast<std::uint64_t>(st.st_size);
  if (*size > policy.max_object_bytes) {
    return "object is " + std::to_string(*size) + " bytes; single-PUT uploads are limited to " +
           detail::format_bytes(policy.max_object_bytes);
  }
  return std::nullopt;
}

// The default wait between attempts: returns early when stop is requested.
void interruptible_sleep(std::chrono::milliseconds delay, const std::stop_token& stop) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, delay, [] { return false; });
}

// Where one URL leads: parsed, checked against the transport policy, with its proxy. Redone
// when a retry picks up refreshed credentials (the new URL may name another host).
struct Destination {
  net::Url url;
  std::string shown;  // scheme://host[:port]/path: never the query
  std::optional<net::ProxyConfig> proxy;
};

// nullopt + *error when the URL cannot be used.
std::optional<Destination> destination_for(const std::string& presigned_url,
                                           const UploadPolicy& policy, std::string* error) {
  Destination destination;
  destination.shown = detail::display_url(presigned_url);
  std::string url_error;
  std::optional<net::Url> url = net::parse_url(presigned_url, &url_error);
  if (!url || (url->scheme != "https" && url->scheme != "http")) {
    *error = "upload URL " + destination.shown + " is not an http(s) URL" +
             (url_error.empty() ? "" : ": " + detail::display_url(url_error));
    return std::nullopt;
  }
  destination.url = *url;
  destination.shown = detail::display_url(*url);
  if (!url->tls() && !policy.allow_insecure && !detail::is_loopback_host(url->host)) {
    *error = "refusing to upload to " + destination.shown +
             " without TLS: plain http is allowed only to loopback hosts unless insecure "
             "uploads are enabled";
    return std::nullopt;
  }
  if (policy.env) {
    try {
      destination.proxy = net::proxy_for(url->host, policy.env);
    } catch (const std::invalid_argument& e) {
      *error = e.what();
      return std::nullopt;
    }
  }
  return destination;
}

}  // namespace

UploadOutcome put_file(const UploadRequest& initial_request, const UploadPolicy& policy,
                       std::stop_token stop, std::function<void(std::uint64_t sent)> on_progress,
                       const CredentialRefresh& refresh) {
  const core::Logger log("upload");
  UploadOutcome outcome;
  UploadRequest request = initial_request;
  std::string shown = detail::display_url(request.presigned_put_url);
  auto give_up = [&](const std::string& message) {
    outcome.error = core::redact(message);
    // The caller reports the outcome (JobUpdate, its own log line): logged once, there.
    log.debug("upload failed", {{"url", core::redact(shown)}, {"error", outcome.error}});
    return outcome;
  };
  const auto now = [&] { return policy.now_ms ? policy.now_ms() : core::now_ms(); };

  AttemptSetup setup;
  setup.policy = &policy;
  setup.file_text = request.file.string();
  setup.on_progress = &on_progress;
  std::optional<ssl::context> tls;
  // Points setup at request's URL; an error message when it cannot be used.
  auto aim = [&]() -> std::optional<std::string> {
    std::string error;
    std::optional<Destination> destination =
        destination_for(request.presigned_put_url, policy, &error);
    if (!destination) return error;
    shown = destination->shown;
    setup.url = destination->url;
    setup.proxy = destination->proxy;
    setup.tls = nullptr;
    if (setup.url.tls()) {
      if (!tls) {
        tls.emplace(ssl::context::tls_client);
        if (std::string tls_error = net::detail::configure_tls_client(*tls, policy.ca_file);
            !tls_error.empty()) {
          tls.reset();
          return tls_error;
        }
      }
      setup.tls = &*tls;
    }
    return std::nullopt;
  };
  if (auto failure = aim()) return give_up(*failure);
  std::uint64_t size = 0;
  if (auto failure = precondition_failure(request, policy, now(), &size)) {
    return give_up(*failure);
  }

  FileDescriptor fd(::open(request.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return give_up("cannot open spool file " + setup.file_text + ": " +
                   std::generic_category().message(errno));
  }
  setup.fd = fd.get();

  // Declared in this order so that the stop callback is gone before what it touches.
  asio::io_context io;
  std::shared_ptr<Attempt> current;
  std::stop_callback on_stop(stop, [&] {
    // From any thread: the cancellation itself runs on the io_context.
    asio::post(io, [&] {
      if (current) current->cancel();
    });
  });

  net::Backoff backoff(policy.backoff, policy.uniform01);
  std::string first_error, last_error;
  const unsigned max_attempts = std::max(1u, policy.max_attempts);
  auto summary = [&] {
    return outcome.attempts == 1 ? last_error
                                 : "upload failed after " + std::to_string(outcome.attempts) +
                                       " attempts: first: " + first_error + ", last: " + last_error;
  };
  for (unsigned attempt = 1;; ++attempt) {
    if (stop.stop_requested()) {
      outcome.cancelled = true;
      return give_up("upload to " + shown + " cancelled");
    }
    if (attempt > 1) {
      if (refresh && refresh(request)) {
        if (auto failure = aim()) {
          return give_up(*failure + " (refreshed credentials); last failure: " + last_error);
        }
      }
      if (auto failure = precondition_failure(request, policy, now(), &size)) {
        return give_up(*failure + " before attempt " + std::to_string(attempt) +
                       "; last failure: " + last_error);
      }
    }
    outcome.attempts = attempt;
    setup.size = size;
    AttemptResult result;
    current = std::make_shared<Attempt>(io, setup);
    current->start([&result](AttemptResult r) { result = std::move(r); });
    io.restart();
    io.run();
    current.reset();

    outcome.last_http_status = result.http_status;
    if (result.kind == AttemptResult::Kind::ok) {
      outcome.ok = true;
      outcome.etag = result.etag;
      log.info("upload complete",
               {{"url", core::redact(shown)}, {"bytes", size}, {"attempts", attempt}});
      return outcome;
    }
    if (result.kind == AttemptResult::Kind::cancelled) {
      outcome.cancelled = true;
      return give_up("upload to " + shown + " cancelled");
    }
    last_error = result.message;
    if (attempt == 1) first_error = result.message;
    if (result.kind == AttemptResult::Kind::fatal || attempt >= max_attempts) {
      return give_up(summary());
    }
    std::chrono::milliseconds delay = backoff.next_delay();
    if (result.retry_after) delay = std::min(*result.retry_after, policy.backoff.cap);
    log.warn("upload attempt failed; retrying", {{"url", core::redact(shown)},
                                                 {"attempt", attempt},
                                                 {"delay_ms", delay.count()},
                                                 {"error", core::redact(result.message)}});
    if (policy.sleep) {
      policy.sleep(delay);
    } else {
      interruptible_sleep(delay, stop);
    }
  }
}

}  // namespace backupy::upload
