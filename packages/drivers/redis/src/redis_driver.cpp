#include "backupy/drivers/redis_driver.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "backupy/core/quote.hpp"
#include "backupy/drivers/dump_tool.hpp"
#include "backupy/drivers/endpoint.hpp"
#include "backupy/stream/cancelled.hpp"
#include "redis_support.hpp"

namespace backupy::drivers {
namespace {

struct ContextCloser {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyCloser {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextCloser>;
using Reply = std::unique_ptr<redisReply, ReplyCloser>;

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

class RedisDriver : public Driver {
 public:
  RedisDriver(const DumpContext& context, RedisOptions options)
      : target_(context.target),
        options_(std::move(options)),
        endpoint_(
            resolve_endpoint(context.target, {.tcp_host = "localhost",
                                              .socket_path = "/var/run/redis/redis-server.sock",
                                              .port = 6379})) {}

  std::string probe() override {
    validate();
    Context c = connect();
    const std::string server = info(c.get(), "server");
    const std::string version = redis::info_field(server, "redis_version");
    if (version.empty()) throw DriverError(prefix() + ": INFO server carries no redis_version");
    const std::string memory = info(c.get(), "memory");
    try {
      size_ = std::stoull(redis::info_field(memory, "used_memory"));
    } catch (const std::exception&) {
      size_ = 0;
    }
    version_ = "Redis " + version;
    return version_;
  }

  std::optional<std::uint64_t> size_hint() const override {
    return size_ ? std::optional<std::uint64_t>(size_) : std::nullopt;
  }

  void dump(stream::ByteSink& out, std::stop_token stop) override {
    if (version_.empty()) probe();
    if (stop.stop_requested()) throw stream::Cancelled();
    Context c = connect();
    // rdb-only: the server sends the RDB and no replication stream after it.
    // Redis < 7 answers with an error, which is fine: we stop reading after
    // the payload anyway.
    command(c.get(), {"REPLCONF", "rdb-only", "1"}, /*errors_ok=*/true);
    if (options_.diskless) command(c.get(), {"REPLCONF", "capa", "eof"}, true);
    if (redisAppendCommand(c.get(), "SYNC") != REDIS_OK) throw io_error(c.get(), "SYNC");
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c.get(), &done) != REDIS_OK) throw io_error(c.get(), "SYNC");
    }
    // hiredis's reader holds nothing: every earlier reply was consumed and the
    // server sends nothing unasked before SYNC. From here on the socket is ours.
    redis::SyncPayloadParser parser(
        [&out](std::span<const std::uint8_t> data) { out.write(data); });
    std::vector<std::uint8_t> buffer(64 * 1024);
    auto last_data = std::chrono::steady_clock::now();
    try {
      while (!parser.done()) {
        if (stop.stop_requested()) throw stream::Cancelled();
        pollfd p{c->fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, 100);
        if (ready < 0) {
          if (errno == EINTR) continue;
          throw DriverError(prefix() + ": poll failed: " + std::strerror(errno));
        }
        if (ready == 0) {
          if (std::chrono::steady_clock::now() - last_data > options_.idle_timeout) {
            throw DriverError(prefix() + ": the server sent nothing for " +
                              std::to_string(options_.idle_timeout.count()) +
                              " s during the replication sync (" +
                              std::to_string(parser.payload_bytes()) + " RDB bytes received)");
          }
          continue;
        }
        const ssize_t n = ::recv(c->fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
          throw DriverError(prefix() + ": reading the RDB failed after " +
                            std::to_string(parser.payload_bytes()) +
                            " bytes: " + std::strerror(errno));
        }
        if (n == 0) break;  // closed: finish() tells whether that was early
        last_data = std::chrono::steady_clock::now();
        parser.feed(std::span<const std::uint8_t>(buffer.data(), static_cast<std::size_t>(n)));
      }
      parser.finish();
    } catch (const DriverError& e) {
      const std::string what = e.what();
      if (what.starts_with("target ")) throw;
      throw DriverError(prefix() + ": " + what);
    }
  }

 private:
  std::string where() const {
    return endpoint_.socket ? "socket " + endpoint_.host
                            : endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  std::string prefix() const { return "target " + target_.id() + " (Redis " + where() + ")"; }

  void validate() const {
    if (endpoint_.docker) {
      throw DriverError("target " + target_.id() +
                        ": the DOCKER_EXEC strategy is not supported by the Redis driver of "
                        "this agent build");
    }
    if (endpoint_.socket && !endpoint_.host.starts_with('/')) {
      throw DriverError("target " + target_.id() +
                        ": with the UNIX_SOCKET strategy connection.host must be the absolute "
                        "socket path, not " +
                        core::quoted(endpoint_.host));
    }
    if (!endpoint_.user.empty() && endpoint_.password.empty()) {
      throw DriverError("target " + target_.id() + ": connection.username " +
                        core::quoted(endpoint_.user) + " is set but no password");
    }
  }

  // Connected and authenticated.
  Context connect() const {
    timeval timeout{static_cast<time_t>(options_.connect_timeout.count()), 0};
    Context c(endpoint_.socket
                  ? redisConnectUnixWithTimeout(endpoint_.host.c_str(), timeout)
                  : redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, timeout));
    if (!c) throw DriverError(prefix() + ": out of memory creating a hiredis context");
    if (c->err) {
      const std::string detail = c->errstr;
      throw DriverError("target " + target_.id() + ": Redis server unreachable at " + where() +
                        ": " +
                        (contains(detail, "timed out")
                             ? "connect timed out after " +
                                   std::to_string(options_.connect_timeout.count()) + " s"
                             : detail));
    }
    // Replies (and the RDB) may take long: the poll loop handles waiting.
    timeval io_timeout{static_cast<time_t>(options_.idle_timeout.count()), 0};
    redisSetTimeout(c.get(), io_timeout);
    if (!endpoint_.user.empty()) {
      command(c.get(), {"AUTH", endpoint_.user, endpoint_.password});
    } else if (!endpoint_.password.empty()) {
      command(c.get(), {"AUTH", endpoint_.password});
    }
    return c;
  }

  std::string info(redisContext* c, const std::string& section) const {
    Reply reply = command(c, {"INFO", section});
    if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS) {
      throw DriverError(prefix() + ": unexpected reply to INFO " + section);
    }
    return std::string(reply->str, reply->len);
  }

  DriverError io_error(redisContext* c, const std::string& what) const {
    return DriverError(prefix() + ": connection lost during " + what + ": " + c->errstr);
  }

  // Arguments are binary-safe (redisCommandArgv); the password never appears
  // in a message.
  Reply command(redisContext* c, const std::vector<std::string>& args,
                bool errors_ok = false) const {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
    const std::string name = args.front();
    if (!reply) throw io_error(c, name);
    if (reply->type == REDIS_REPLY_ERROR && !errors_ok) {
      const std::string detail =
          one_line_masked(std::string(reply->str, reply->len), endpoint_.password);
      if (detail.starts_with("WRONGPASS") || detail.starts_with("NOAUTH") ||
          contains(detail, "invalid password") || contains(detail, "invalid username-password")) {
        throw DriverError(
            "target " + target_.id() + ": authentication failed" +
            (endpoint_.user.empty() ? std::string() : " for user " + core::quoted(endpoint_.user)) +
            " at " + where() + " (check the username and password): " + detail);
      }
      if (detail.starts_with("NOPERM")) {
        throw DriverError(prefix() + ": permission denied for " + name +
                          (endpoint_.user.empty()
                               ? std::string()
                               : " (user " + core::quoted(endpoint_.user) + ")") +
                          ": " + detail);
      }
      throw DriverError(prefix() + ": " + name + " failed: " + detail);
    }
    return reply;
  }

  backup::v1::Target target_;
  RedisOptions options_;
  Endpoint endpoint_;
  std::string version_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_redis_driver(const DumpContext& context) {
  return std::make_unique<RedisDriver>(context, RedisOptions{});
}

std::unique_ptr<Driver> make_redis_driver_with(const DumpContext& context,
                                               const RedisOptions& options) {
  return std::make_unique<RedisDriver>(context, options);
}

}  // namespace backupy::drivers
