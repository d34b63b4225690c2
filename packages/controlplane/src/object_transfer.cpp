// The embedded object store on the wire (Beast, callbacks): one signed PUT or GET per
// connection, handed over by the listener once the request head is read.
//
// PUT streams the body through Beast's file_body into <dir>/.partial/<random>.part, at most
// kIdleTimeout between two reads, then fsyncs it and renames it onto <dir>/<key> (and fsyncs
// that directory): a reader sees the old object or the complete new one, and an upload that
// dies before its last byte leaves nothing (the partial file is removed with the transfer).
// GET streams the file back the same way. Answers (JSON errors, like the operator API):
//   200 stored / the object        400 bad key          403 bad, malformed or expired URL
//   404 no such object (or storage is not local)        405 not PUT/GET
//   411 PUT without Content-Length 413 over max_object_bytes   503 shutting down
// Each request is logged as object_request {method, key, status, bytes, remote, reason}: never
// the query (it holds the signature).
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "backupy/core/hex.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "local_store.hpp"
#include "transport.hpp"

namespace backupy::controlplane::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;

// Longest silence between two chunks of a body before the transfer is dropped.
constexpr std::chrono::seconds kIdleTimeout{60};
constexpr std::chrono::seconds kShutdownTimeout{2};
// Refused requests with bodies up to this size are read before the answer (see fail()).
constexpr std::uint64_t kDrainLimit = 1024 * 1024;
constexpr const char* kServerName = "backupy-control-plane";

// fsync of a file or directory by path; false (errno kept) on failure.
bool fsync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

class ObjectTransfer : public std::enable_shared_from_this<ObjectTransfer> {
 public:
  ObjectTransfer(TlsStream stream, beast::flat_buffer buffer, std::unique_ptr<HeadParser> head,
                 std::string remote, ServerState& state)
      : state_(state),
        slot_(state),
        config_(state.config),
        stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        head_(std::move(head)),
        remote_(std::move(remote)),
        method_(head_->get().method_string().data(), head_->get().method_string().size()),
        version_(head_->get().version()) {}

  ~ObjectTransfer() { discard_partial(); }

  ObjectTransfer(const ObjectTransfer&) = delete;
  ObjectTransfer& operator=(const ObjectTransfer&) = delete;

  void start() {
    const auto raw_target = head_->get().target();
    const std::string_view target(raw_target.data(), raw_target.size());
    const std::size_t question = target.find('?');
    const std::string_view path = target.substr(0, question);
    const std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    if (state_.stopping) return fail(http::status::service_unavailable, "shutting down");
    if (!config_->storage || config_->storage->type != StorageType::local) {
      return fail(http::status::not_found, "not found");
    }
    std::optional<std::string> key = decode_object_path(path.substr(kObjectsPrefix.size()));
    if (!key || !is_valid_object_key(*key))
      return fail(http::status::bad_request, "bad object key");
    key_ = std::move(*key);
    const http::verb verb = head_->get().method();
    if (verb != http::verb::put && verb != http::verb::get) {
      return fail(http::status::method_not_allowed, "method not allowed");
    }
    std::vector<std::uint8_t> url_key = state_.object_url_key(*config_);
    store_.emplace(*config_->storage, url_key, state_.default_public_url);
    crypto::secure_wipe(url_key);
    const UrlCheck check = store_->verify(method_, key_, query, core::now_ms());
    if (check != UrlCheck::ok) return fail(http::status::forbidden, to_string(check));
    if (verb == http::verb::get) return serve_get();
    receive_put();
  }

 private:
  // ------------------------------------------------------------------------ PUT --

  void receive_put() {
    const boost::optional<std::uint64_t> length = head_->content_length();
    if (!length) return fail(http::status::length_required, "Content-Length required");
    if (*length > store_->max_object_bytes()) {
      return fail(http::status::payload_too_large, "object larger than max_object_bytes");
    }
    const bool expect_continue = [&] {
      const auto it = head_->get().find(http::field::expect);
      return it != head_->get().end() && beast::iequals(it->value(), "100-continue");
    }();

    const std::filesystem::path partial_dir = store_->dir() / kPartialDir;
    std::error_code fs_ec;
    std::filesystem::create_directories(partial_dir, fs_ec);
    if (fs_ec) return store_failed("cannot create " + partial_dir.string(), fs_ec);
    partial_ = partial_dir / (core::to_hex(crypto::random_bytes(16)) + ".part");

    put_.emplace(std::move(*head_));
    head_.reset();
    put_->body_limit(*length);
    error_code ec;
    put_->get().body().open(partial_->c_str(), beast::file_mode::write_new, ec);
    if (ec) {
      partial_.reset();  // not ours: write_new refused an existing file
      return store_failed("cannot create a partial file", ec);
    }
    if (!expect_continue) return read_body();
    auto interim =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(stream_, *interim,
                      [self = shared_from_this(), interim](error_code write_ec, std::size_t) {
                        if (write_ec) return self->dropped(write_ec);
                        self->read_body();
                      });
  }

  void read_body() {
    if (put_->is_done()) return commit();
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read_some(stream_, buffer_, *put_,
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            self->bytes_ += n;
                            self->state_.metrics.object_bytes_received(n);
                            if (ec) return self->dropped(ec);
                            self->read_body();
                          });
  }

  void commit() {
    beast::file& file = put_->get().body().file();
    error_code ec;
    if (::fsync(file.native_handle()) != 0) {
      ec.assign(errno, boost::system::generic_category());
      return store_failed("fsync failed", ec);
    }
    file.close(ec);
    if (ec) return store_failed("close failed", ec);
    const std::filesystem::path target = store_->path_of(key_);
    std::error_code fs_ec;
    std::filesystem::create_directories(target.parent_path(), fs_ec);
    if (fs_ec) return store_failed("cannot create " + target.parent_path().string(), fs_ec);
    std::filesystem::rename(*partial_, target, fs_ec);
    if (fs_ec) return store_failed("cannot store the object", fs_ec);
    partial_.reset();
    // The rename is durable once its directory is.
    if (!fsync_path(target.parent_path())) {
      state_.log.warn("object_dir_fsync_failed",
                      {{"event", "object_dir_fsync_failed"}, {"error", std::strerror(errno)}});
    }
    respond(http::status::ok, R"({"status":"stored"})", "");
  }

  // The client went away or stalled mid-body (or sent more than it announced).
  void dropped(error_code ec) {
    discard_partial();
    if (ec == http::error::body_limit) {
      return fail(http::status::payload_too_large, "body longer than Content-Length");
    }
    log(0, "transfer aborted: " + ec.message());
  }

  void discard_partial() {
    if (!partial_) return;
    if (put_) {
      error_code ignored;
      put_->get().body().file().close(ignored);
    }
    std::error_code ignored;
    std::filesystem::remove(*partial_, ignored);
    partial_.reset();
  }

  // ------------------------------------------------------------------------ GET --

  void serve_get() {
    get_.emplace(http::status::ok, version_);
    error_code ec;
    get_->body().open(store_->path_of(key_).c_str(), beast::file_mode::scan, ec);
    if (ec == boost::system::errc::no_such_file_or_directory ||
        ec == boost::system::errc::is_a_directory) {
      return fail(http::status::not_found, "no such object");
    }
    if (ec) return store_failed("cannot open the object", ec);
    get_->set(http::field::server, kServerName);
    get_->set(http::field::content_type, "application/octet-stream");
    get_->keep_alive(false);
    get_->prepare_payload();
    get_serializer_.emplace(*get_);
    write_some();
  }

  void write_some() {
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write_some(stream_, *get_serializer_,
                           [self = shared_from_this()](error_code ec, std::size_t n) {
                             self->bytes_ += n;
                             if (ec) return self->log(0, "transfer aborted: " + ec.message());
                             if (!self->get_serializer_->is_done()) return self->write_some();
                             self->log(200, "");
                             self->shutdown();
                           });
  }

  // --------------------------------------------------------------------- answers --

  template <typename ErrorCode>
  void store_failed(const std::string& what, const ErrorCode& ec) {
    discard_partial();
    state_.log.error(
        "object_store_failed",
        {{"event", "object_store_failed"}, {"key", key_}, {"error", what + ": " + ec.message()}});
    respond(http::status::internal_server_error, R"({"error":"storage failure"})", what);
  }

  void fail(http::status status, std::string_view reason) {
    std::string body = R"({"error":")" + std::string(reason) + R"("})";
    if (!drain_before_answer()) return respond(status, std::move(body), std::string(reason));
    // Closing a socket with unread bytes resets the connection, and the client may lose the
    // answer with it: read (and drop) a small refused body first.
    drain_.emplace(std::move(*head_));
    head_.reset();
    drain_->body_limit(kDrainLimit);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *drain_,
                     [self = shared_from_this(), status, body = std::move(body),
                      reason = std::string(reason)](error_code, std::size_t) mutable {
                       self->respond(status, std::move(body), std::move(reason));
                     });
  }

  // A refused request whose small body is still unread (and not held back by Expect).
  bool drain_before_answer() const {
    if (!head_ || head_->is_done()) return false;
    const boost::optional<std::uint64_t> length = head_->content_length();
    const auto expect = head_->get().find(http::field::expect);
    return length && *length <= kDrainLimit && expect == head_->get().end();
  }

  // Answers and closes the connection: a PUT refused before its body was read leaves unread
  // bytes on the wire, so the connection cannot be reused anyway.
  void respond(http::status status, std::string body, std::string reason) {
    auto response = std::make_shared<http::response<http::string_body>>(status, version_);
    response->set(http::field::server, kServerName);
    response->set(http::field::content_type, "application/json");
    response->body() = std::move(body);
    response->keep_alive(false);
    response->prepare_payload();
    log(static_cast<unsigned>(status), std::move(reason));
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](error_code ec, std::size_t) {
                        if (!ec) self->shutdown();
                      });
  }

  // status 0: no answer was sent (the transfer broke off).
  void log(unsigned status, std::string reason) {
    state_.log.log(status != 0 && status < 400 ? core::LogLevel::info : core::LogLevel::warn,
                   "object_request",
                   {{"event", "object_request"},
                    {"method", method_},
                    {"key", key_},
                    {"status", status},
                    {"bytes", bytes_},
                    {"remote", remote_},
                    {"reason", std::move(reason)}});
  }

  void shutdown() {
    beast::get_lowest_layer(stream_).expires_after(kShutdownTimeout);
    stream_.async_shutdown([self = shared_from_this()](error_code) {});
  }

  ServerState& state_;
  ConnectionSlot slot_;
  // Held for the whole transfer: a reload swaps state.config.
  std::shared_ptr<const ServerConfig> config_;
  TlsStream stream_;
  beast::flat_buffer buffer_;
  std::unique_ptr<HeadParser> head_;
  std::string remote_;
  std::string method_;
  unsigned version_;
  std::string key_;
  std::optional<LocalStore> store_;
  std::optional<http::request_parser<http::file_body>> put_;
  std::optional<http::request_parser<http::string_body>> drain_;
  std::optional<std::filesystem::path> partial_;  // the partial file while it is ours
  std::optional<http::response<http::file_body>> get_;
  std::optional<http::response_serializer<http::file_body>> get_serializer_;
  std::uint64_t bytes_ = 0;  // body bytes moved
};

}  // namespace

void start_object_transfer(TlsStream stream, beast::flat_buffer buffer,
                           std::unique_ptr<HeadParser> head, std::string remote,
                           ServerState& state) {
  std::make_shared<ObjectTransfer>(std::move(stream), std::move(buffer), std::move(head),
                                   std::move(remote), state)
      ->start();
}

}  // namespace backupy::controlplane::detail
