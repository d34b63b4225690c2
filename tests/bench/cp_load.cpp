// Load generator for the control plane: N simulated agents on one io_context thread
// (tests/bench/control_plane_load.sh drives it; a benchmark, never run by ctest).
//
//   cp_load agents --count N --seed S
//       prints the YAML `agents:` entries of N agents ("load-0000" ...) with the sha256 of
//       their keys; the keys themselves are derived from S and never printed.
//   cp_load run --port P --ca FILE --count N --seed S --hold SEC [--parallel K]
//       opens N agent sessions against 127.0.0.1:P the way the agent does (TLS, WebSocket
//       upgrade of /v1/agents/connect with "Authorization: Bearer <key>", Register first),
//       sends a Heartbeat every heartbeat_interval_sec of the RegisterAck, answers each Ping
//       with an Ack, prints "registered <N> in <ms> ms" once every session has its RegisterAck,
//       holds them for SEC seconds and prints what it sent and received. Exit status 1 if a
//       session failed or was closed before the end.
//
// At most K (default 100) connections are in their TLS/WebSocket handshake at once, like a
// fleet reconnecting after a restart with jittered backoff rather than in one instant.
// Written with callbacks, not coroutines (build-notes: coroutines compile several times
// slower).
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/crypto/crypto.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Envelope = backup::v1::Envelope;
using Clock = std::chrono::steady_clock;

std::string agent_id(std::size_t index) {
  std::string digits = std::to_string(index);
  return "load-" + std::string(digits.size() < 4 ? 4 - digits.size() : 0, '0') + digits;
}

// 64 lowercase hex characters, a valid agent key, derived from the run's seed.
std::string agent_key(const std::string& seed, std::size_t index) {
  return backupy::crypto::sha256_hex(
      backupy::crypto::as_bytes("cp-load " + seed + " " + std::to_string(index)));
}

std::uint64_t wall_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

struct Totals {
  std::size_t registered = 0;
  std::size_t failed = 0;  // sessions that ended before the hold was over
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t pings_answered = 0;
  std::uint64_t frames_received = 0;
  std::optional<std::string> first_error;
};

class Fleet;

class SimAgent : public std::enable_shared_from_this<SimAgent> {
 public:
  SimAgent(asio::io_context& io, ssl::context& tls, Fleet& fleet, std::size_t index,
           std::string key)
      : ws_(io, tls), heartbeat_timer_(io), fleet_(fleet), index_(index), key_(std::move(key)) {}

  void start(const tcp::endpoint& endpoint);
  void stop() {
    stopping_ = true;
    heartbeat_timer_.cancel();
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  void on_connect(error_code ec);
  void on_tls(error_code ec);
  void on_upgrade(error_code ec);
  void read();
  void on_frame(error_code ec);
  void schedule_heartbeat();
  void send(Envelope envelope);
  void write_next();
  void fail(const std::string& what, error_code ec);

  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws_;
  asio::steady_timer heartbeat_timer_;
  Fleet& fleet_;
  std::size_t index_;
  std::string key_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool registered_ = false;
  bool stopping_ = false;
  std::uint64_t seq_ = 0;
  std::uint64_t config_version_ = 0;
  std::chrono::seconds heartbeat_interval_{30};
};

class Fleet {
 public:
  Fleet(asio::io_context& io, ssl::context& tls, std::uint16_t port, std::size_t count,
        std::string seed, std::size_t parallel)
      : io_(io),
        tls_(tls),
        endpoint_(asio::ip::make_address("127.0.0.1"), port),
        count_(count),
        seed_(std::move(seed)),
        parallel_(parallel),
        hold_timer_(io) {}

  void start(std::chrono::seconds hold) {
    hold_ = hold;
    started_ = Clock::now();
    while (in_handshake_ < parallel_ && next_ < count_) launch();
  }

  // Called by agents.
  void on_registered() {
    --in_handshake_;
    ++totals_.registered;
    if (next_ < count_) launch();
    if (totals_.registered == count_) {
      all_registered_ = Clock::now();
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(*all_registered_ - started_);
      std::cout << "registered " << count_ << " in " << ms.count() << " ms" << std::endl;
      heartbeats_at_registered_ = totals_.heartbeats_sent;
      hold_timer_.expires_after(hold_);
      hold_timer_.async_wait([this](error_code ec) {
        if (!ec) finish();
      });
    }
  }
  void on_failed(bool during_handshake, const std::string& what) {
    if (finished_) return;
    if (during_handshake) --in_handshake_;
    ++totals_.failed;
    if (!totals_.first_error) totals_.first_error = what;
    std::cerr << what << std::endl;
    if (next_ < count_) launch();
    // Nothing more can reach "all registered": report instead of waiting forever.
    if (!all_registered_ && in_handshake_ == 0 && next_ == count_) finish();
  }
  Totals& totals() { return totals_; }
  bool finished() const { return finished_; }

  void report() const {
    const double held = all_registered_
                            ? std::chrono::duration<double>(Clock::now() - *all_registered_).count()
                            : 0.0;
    std::cout << "sessions_registered " << totals_.registered << "\n"
              << "sessions_failed " << totals_.failed << "\n"
              << "held_seconds " << held << "\n"
              << "heartbeats_sent_while_held "
              << totals_.heartbeats_sent - heartbeats_at_registered_ << "\n"
              << "pings_answered " << totals_.pings_answered << "\n"
              << "frames_received " << totals_.frames_received << std::endl;
    if (totals_.first_error) std::cout << "first_error " << *totals_.first_error << std::endl;
  }

 private:
  void launch() {
    const std::size_t index = next_++;
    ++in_handshake_;
    auto agent = std::make_shared<SimAgent>(io_, tls_, *this, index, agent_key(seed_, index));
    agents_.push_back(agent);
    agent->start(endpoint_);
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    for (const auto& agent : agents_) agent->stop();
  }

  asio::io_context& io_;
  ssl::context& tls_;
  tcp::endpoint endpoint_;
  std::size_t count_;
  std::string seed_;
  std::size_t parallel_;
  asio::steady_timer hold_timer_;
  std::chrono::seconds hold_{60};
  Clock::time_point started_;
  std::optional<Clock::time_point> all_registered_;
  std::size_t next_ = 0;
  std::size_t in_handshake_ = 0;
  std::uint64_t heartbeats_at_registered_ = 0;
  bool finished_ = false;
  Totals totals_;
  std::vector<std::shared_ptr<SimAgent>> agents_;
};

void SimAgent::start(const tcp::endpoint& endpoint) {
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
  beast::get_lowest_layer(ws_).async_connect(
      endpoint, [self = shared_from_this()](error_code ec) { self->on_connect(ec); });
}

void SimAgent::on_connect(error_code ec) {
  if (ec) return fail("connect", ec);
  ws_.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  ws_.next_layer().async_handshake(
      ssl::stream_base::client,
      [self = shared_from_this()](error_code tls_ec) { self->on_tls(tls_ec); });
}

void SimAgent::on_tls(error_code ec) {
  if (ec) return fail("tls handshake", ec);
  beast::get_lowest_layer(ws_).expires_never();
  ws_.set_option(
      websocket::stream_base::timeout{std::chrono::seconds(30), std::chrono::seconds(90), true});
  ws_.set_option(websocket::stream_base::decorator([key = key_](websocket::request_type& req) {
    req.set(http::field::user_agent, "backupy-cp-load");
    req.set(http::field::authorization, "Bearer " + key);
  }));
  ws_.async_handshake("127.0.0.1", "/v1/agents/connect",
                      [self = shared_from_this()](error_code up_ec) { self->on_upgrade(up_ec); });
}

void SimAgent::on_upgrade(error_code ec) {
  if (ec) return fail("websocket upgrade", ec);
  ws_.binary(true);
  ws_.read_message_max(4 * 1024 * 1024);
  Envelope envelope;
  envelope.set_correlation_id("register-" + std::to_string(index_));
  backup::v1::Register* reg = envelope.mutable_register_();
  reg->set_agent_version("cp-load");
  reg->set_hostname(agent_id(index_));
  reg->set_os("linux");
  reg->set_arch("amd64");
  reg->add_capabilities("pg_dump");
  send(std::move(envelope));
  read();
}

void SimAgent::read() {
  ws_.async_read(buffer_,
                 [self = shared_from_this()](error_code ec, std::size_t) { self->on_frame(ec); });
}

void SimAgent::on_frame(error_code ec) {
  if (ec) return fail("read", ec);
  ++fleet_.totals().frames_received;
  Envelope envelope;
  const auto data = buffer_.cdata();
  const bool parsed = envelope.ParseFromArray(data.data(), static_cast<int>(data.size()));
  buffer_.consume(buffer_.size());
  if (!parsed) return fail("unparsable frame", {});
  if (!registered_) {
    if (!envelope.has_register_ack()) return fail("first frame is not RegisterAck", {});
    registered_ = true;
    config_version_ = envelope.register_ack().config().version();
    heartbeat_interval_ = std::chrono::seconds(
        std::max<std::uint32_t>(1, envelope.register_ack().heartbeat_interval_sec()));
    fleet_.on_registered();
    schedule_heartbeat();
  } else if (envelope.has_ping()) {
    Envelope reply;
    reply.set_correlation_id(envelope.correlation_id());
    reply.mutable_ack()->set_correlation_id(envelope.correlation_id());
    reply.mutable_ack()->set_accepted(true);
    ++fleet_.totals().pings_answered;
    send(std::move(reply));
  }
  read();
}

void SimAgent::schedule_heartbeat() {
  heartbeat_timer_.expires_after(heartbeat_interval_);
  heartbeat_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->stopping_) return;
    Envelope envelope;
    backup::v1::Heartbeat* heartbeat = envelope.mutable_heartbeat();
    heartbeat->set_config_version(self->config_version_);
    backup::v1::AgentMetrics* metrics = heartbeat->mutable_metrics();
    metrics->set_cpu_percent(1.5F);
    metrics->set_mem_used_bytes(64ULL << 20);
    metrics->set_mem_total_bytes(8ULL << 30);
    metrics->set_disk_used_bytes(10ULL << 30);
    metrics->set_disk_total_bytes(100ULL << 30);
    ++self->fleet_.totals().heartbeats_sent;
    self->send(std::move(envelope));
    self->schedule_heartbeat();
  });
}

void SimAgent::send(Envelope envelope) {
  envelope.set_seq(++seq_);
  envelope.set_ts_ms(wall_ms());
  queue_.push_back(envelope.SerializeAsString());
  if (!writing_) write_next();
}

void SimAgent::write_next() {
  if (queue_.empty() || stopping_) return;
  writing_ = true;
  ws_.async_write(asio::buffer(queue_.front()),
                  [self = shared_from_this()](error_code ec, std::size_t) {
                    self->writing_ = false;
                    self->queue_.pop_front();
                    if (ec) return self->fail("write", ec);
                    self->write_next();
                  });
}

void SimAgent::fail(const std::string& what, error_code ec) {
  if (stopping_) return;
  const bool during_handshake = !registered_;
  stop();
  std::string reason = agent_id(index_) + ": " + what;
  if (ec) reason += ": " + ec.message();
  if (ec == websocket::error::closed)
    reason += " (" + std::string(ws_.reason().reason.c_str()) + ")";
  fleet_.on_failed(during_handshake, reason);
}

std::optional<std::string> option(int argc, char** argv, const std::string& name) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::string(argv[i + 1]);
  }
  return std::nullopt;
}

int usage() {
  std::cerr << "usage: cp_load agents --count N --seed S\n"
               "       cp_load run --port P --ca FILE --count N --seed S --hold SEC"
               " [--parallel K]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string command = argv[1];
  const auto count = option(argc, argv, "--count");
  const auto seed = option(argc, argv, "--seed");
  if (!count || !seed) return usage();
  const std::size_t n = std::stoul(*count);

  if (command == "agents") {
    for (std::size_t i = 0; i < n; ++i) {
      const std::string key = agent_key(*seed, i);
      std::cout << "  - id: " << agent_id(i) << "\n    key_sha256: \""
                << backupy::crypto::sha256_hex(backupy::crypto::as_bytes(key))
                << "\"\n    config: {version: 1}\n";
    }
    return 0;
  }
  if (command != "run") return usage();
  const auto port = option(argc, argv, "--port");
  const auto ca = option(argc, argv, "--ca");
  const auto hold = option(argc, argv, "--hold");
  if (!port || !ca || !hold) return usage();
  const std::size_t parallel = std::stoul(option(argc, argv, "--parallel").value_or("100"));

  asio::io_context io{1};
  ssl::context tls(ssl::context::tls_client);
  tls.load_verify_file(*ca);
  tls.set_verify_mode(ssl::verify_peer);
  Fleet fleet(io, tls, static_cast<std::uint16_t>(std::stoul(*port)), n, *seed, parallel);
  fleet.start(std::chrono::seconds(std::stoul(*hold)));
  io.run();
  fleet.report();
  return fleet.totals().failed == 0 && fleet.totals().registered == n ? 0 : 1;
}
