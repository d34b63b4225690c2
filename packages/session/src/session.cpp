#include "backupy/session/session.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <utility>  // before Asio (build notes: awaitable.hpp needs it)

#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "backupy/net/wss_connection.hpp"
#include "backupy/session/outbox_pump.hpp"
#include "backupy/wire/capabilities.hpp"
#include "backupy/wire/envelope_codec.hpp"

namespace backupy::session {
namespace {

namespace asio = boost::asio;
using backup::v1::Envelope;

const core::Logger kLog("session");

// WebSocket close codes we send (RFC 6455).
constexpr std::uint16_t kCloseGoingAway = 1001;
constexpr std::uint16_t kCloseProtocolError = 1002;

std::string seconds_text(std::chrono::milliseconds delay) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(delay.count()) / 1000.0);
  return buf;
}

}  // namespace

std::string_view to_string(ConnectionState state) {
  switch (state) {
    case ConnectionState::disconnected: return "disconnected";
    case ConnectionState::connecting: return "connecting";
    case ConnectionState::registering: return "registering";
    case ConnectionState::online: return "online";
    case ConnectionState::stopping: return "stopping";
  }
  return "disconnected";
}

class Session::Impl {
 public:
  Impl(asio::io_context& io, SessionOptions options, ConfigManager& config, state::Outbox& outbox,
       hostinfo::MetricsSampler& metrics, CommandHandler& commands)
      : io_(io),
        options_(std::move(options)),
        config_(config),
        outbox_(outbox),
        metrics_(metrics),
        commands_(commands),
        pump_(outbox),
        backoff_(options_.backoff),
        reconnect_timer_(io),
        register_timer_(io),
        heartbeat_timer_(io),
        healthy_timer_(io),
        stop_timer_(io) {}

  void start() { connect(); }

  void stop(std::chrono::milliseconds grace, std::function<void()> done) {
    stopping_ = true;
    stop_done_ = std::move(done);
    set_state(ConnectionState::stopping);
    cancel_timers();
    reconnect_timer_.cancel();
    if (!connection_) {
      finish_stop();
      return;
    }
    connection_->close(kCloseGoingAway, "agent shutting down");
    stop_timer_.expires_after(grace);
    stop_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      kLog.warn("control plane did not confirm the close in time; closing the socket");
      if (connection_) connection_->close_now();
      connection_.reset();
      finish_stop();
    });
  }

  void wake_outbox() {
    asio::post(io_, [this] { pump_outbox(); });
  }

  void set_active_jobs_provider(std::function<std::vector<std::string>()> provider) {
    active_jobs_ = std::move(provider);
  }

  void set_queue_depth_provider(std::function<std::size_t()> provider) {
    queue_depth_ = std::move(provider);
  }

  SessionStatus status() const { return status_; }

 private:
  // ------------------------------------------------------------ dialing --
  void connect() {
    if (stopping_) return;
    const std::uint64_t generation = ++generation_;
    set_state(ConnectionState::connecting);
    status_.next_attempt_ms = 0;
    if (attempts_++ > 0) ++status_.reconnects;

    net::WssOptions wss;
    wss.url = options_.bootstrap.connect_url;
    wss.headers.emplace_back("Authorization", "Bearer " + options_.bootstrap.agent_key);
    wss.user_agent = "backupy-agent/" + options_.agent_version;
    wss.ca_file = options_.bootstrap.ca_file;
    wss.proxy = options_.bootstrap.proxy;
    wss.idle_timeout = options_.bootstrap.peer_timeout;
    wss.max_inbound_message = options_.bootstrap.max_inbound_message_bytes;

    kLog.info("connecting to control plane", {{"url", wss.url.to_string()},
                                              {"attempt", attempts_},
                                              {"via_proxy", wss.proxy.has_value()}});
    connection_ =
        net::WssConnection::create(io_, std::move(wss),
                                   {.on_open =
                                        [this, generation] {
                                          if (generation == generation_) on_open();
                                        },
                                    .on_message =
                                        [this, generation](std::string&& payload, bool is_text) {
                                          if (generation == generation_)
                                            on_message(std::move(payload), is_text);
                                        },
                                    .on_closed =
                                        [this, generation](const net::CloseInfo& info) {
                                          if (generation == generation_) on_closed(info);
                                        }});
    connection_->start();
  }

  void on_open() {
    set_state(ConnectionState::registering);
    stamper_ = wire::EnvelopeStamper{};

    Envelope envelope;
    auto* reg = envelope.mutable_register_();
    reg->set_agent_version(options_.agent_version);
    reg->set_hostname(options_.identity.hostname);
    reg->set_os(options_.identity.os);
    reg->set_arch(options_.identity.arch);
    if (options_.docker_version) reg->set_docker_version(options_.docker_version());
    for (const auto& capability : options_.capabilities) reg->add_capabilities(capability);
    // 0 asks for a full config: after a key change our stored copy lost its secrets.
    reg->set_last_known_config_version(config_.needs_fresh_config() ? 0 : config_.version());
    send_direct(envelope);

    register_timer_.expires_after(options_.register_timeout);
    register_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || status_.state != ConnectionState::registering) return;
      fail_protocol("no RegisterAck within " + seconds_text(options_.register_timeout));
    });
  }

  void on_closed(const net::CloseInfo& info) {
    const bool was_online = status_.state == ConnectionState::online;
    connection_.reset();
    cancel_timers();
    pump_.on_disconnected();
    status_.connected_since_ms = 0;
    status_.session_id.clear();
    status_.last_error = info.message;

    if (stopping_) {
      kLog.info("disconnected from control plane", {{"reason", info.message}});
      finish_stop();
      return;
    }
    set_state(ConnectionState::disconnected);
    if (info.auth_failure) {
      // Retrying fast cannot fix a wrong key; keep trying at the cap so a
      // corrected server-side key is picked up without a restart.
      backoff_.jump_to_cap();
      kLog.error("authentication failed: the control plane refused the agent key",
                 {{"http_status", info.http_status}, {"reason", info.message}});
    } else if (was_online) {
      kLog.warn("connection to control plane lost", {{"reason", info.message}});
    } else {
      kLog.warn("cannot reach control plane", {{"reason", info.message}});
    }
    schedule_reconnect();
  }

  void schedule_reconnect() {
    const auto delay = backoff_.next_delay();
    status_.next_attempt_ms = core::now_ms() + static_cast<std::uint64_t>(delay.count());
    kLog.info("reconnecting", {{"in", seconds_text(delay)}, {"delay_ms", delay.count()}});
    reconnect_timer_.expires_after(delay);
    reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) connect();
    });
  }

  // ------------------------------------------------------------ inbound --
  void on_message(std::string&& payload, bool is_text) {
    status_.last_message_ms = core::now_ms();
    if (is_text) {
      kLog.warn("ignored a text frame: the protocol uses binary frames only",
                {{"bytes", payload.size()}});
      return;
    }
    auto decoded = wire::decode_server_frame(payload);
    if (auto* rejected = std::get_if<wire::Rejected>(&decoded)) {
      kLog.warn("ignored a frame from the control plane", {{"reason", rejected->reason}});
      return;
    }
    const Envelope& envelope = std::get<Envelope>(decoded);
    if (status_.state == ConnectionState::registering &&
        envelope.payload_case() != Envelope::kRegisterAck) {
      fail_protocol("expected RegisterAck as the first message, got " +
                    std::string(wire::payload_name(envelope.payload_case())));
      return;
    }
    dispatch(envelope);
  }

  void dispatch(const Envelope& envelope) {
    switch (envelope.payload_case()) {
      case Envelope::kRegisterAck:
        if (status_.state == ConnectionState::online) {
          kLog.warn("ignored a second RegisterAck on an established session");
          return;
        }
        on_register_ack(envelope);
        return;
      case Envelope::kConfigUpdate:
        apply_config(envelope, envelope.config_update().config(), "config_update");
        return;
      case Envelope::kPing: {
        Envelope reply;
        reply.set_correlation_id(envelope.correlation_id());
        reply.mutable_ack()->set_correlation_id(envelope.correlation_id());
        reply.mutable_ack()->set_accepted(true);
        send_direct(reply);
        return;
      }
      case Envelope::kDeliveryAck:
        pump_.on_delivery_ack(envelope.delivery_ack().through_outbox_seq());
        pump_outbox();
        return;
      case Envelope::kRunBackup:
      case Envelope::kCancelJob:
      case Envelope::kRunHealthCheck:
      case Envelope::kSelfUpdate:
        if (auto ack = commands_.handle(envelope)) {
          Envelope reply;
          reply.set_correlation_id(envelope.correlation_id());
          *reply.mutable_ack() = std::move(*ack);
          reply.mutable_ack()->set_correlation_id(envelope.correlation_id());
          send_direct(reply);
        }
        return;
      default:
        kLog.warn("ignored an unexpected message",
                  {{"type", wire::payload_name(envelope.payload_case())}});
    }
  }

  void on_register_ack(const Envelope& envelope) {
    register_timer_.cancel();
    const auto& ack = envelope.register_ack();
    status_.session_id = ack.session_id();
    status_.connected_since_ms = core::now_ms();
    status_.last_error.clear();
    status_.server_capabilities.assign(ack.server_capabilities().begin(),
                                       ack.server_capabilities().end());
    const bool ack_mode =
        std::find(status_.server_capabilities.begin(), status_.server_capabilities.end(),
                  wire::kCapDeliveryAck) != status_.server_capabilities.end();
    const std::uint32_t interval =
        ack.heartbeat_interval_sec() > 0
            ? ack.heartbeat_interval_sec()
            : static_cast<std::uint32_t>(options_.default_heartbeat.count());
    status_.heartbeat_interval_sec = interval;
    set_state(ConnectionState::online);
    kLog.info("registered with control plane", {{"session_id", ack.session_id()},
                                                {"heartbeat_interval_sec", interval},
                                                {"delivery_ack", ack_mode},
                                                {"server_time", ack.server_time_iso()}});

    if (ack.has_config()) apply_config(envelope, ack.config(), "register_ack");
    if (options_.on_registered) options_.on_registered(status_.server_capabilities);

    pump_.on_connected(ack_mode);
    send_heartbeat();
    schedule_heartbeat(std::chrono::seconds(interval));
    healthy_timer_.expires_after(options_.healthy_after);
    healthy_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) backoff_.reset();
    });
    pump_outbox();
  }

  void apply_config(const Envelope& envelope, const backup::v1::AgentConfig& snapshot,
                    std::string_view source) {
    const ApplyOutcome outcome = config_.apply(snapshot, source);
    // v1 servers do not expect an Ack for RegisterAck; a rejection is still
    // worth reporting, and an Ack is harmless to them.
    if (!outcome.accepted() || source == "config_update") {
      Envelope reply;
      reply.set_correlation_id(envelope.correlation_id());
      auto* ack = reply.mutable_ack();
      ack->set_correlation_id(envelope.correlation_id());
      ack->set_accepted(outcome.accepted());
      ack->set_reason(outcome.reason);
      send_direct(reply);
    }
  }

  // ----------------------------------------------------------- outbound --
  void send_direct(Envelope& envelope) {
    if (!connection_) return;
    connection_->send(stamper_.encode(envelope), nullptr);
  }

  void pump_outbox() {
    if (status_.state != ConnectionState::online || !connection_) return;
    std::vector<state::OutboxEntry> batch;
    try {
      batch = pump_.next_batch();
    } catch (const std::exception& e) {
      kLog.error("cannot read the outbox", {{"error", e.what()}});
      return;
    }
    const std::uint64_t generation = generation_;
    for (auto& entry : batch) {
      Envelope envelope;
      if (!envelope.ParseFromString(entry.payload)) {
        // Cannot happen unless the state file was damaged; never wedge on it.
        kLog.error("dropping an unreadable outbox entry", {{"outbox_seq", entry.seq}});
        outbox_.remove(entry.seq);
        continue;
      }
      envelope.set_outbox_seq(entry.seq);
      const std::uint64_t seq = entry.seq;
      connection_->send(stamper_.encode(envelope), [this, generation, seq](std::error_code ec) {
        if (generation != generation_) return;
        try {
          pump_.on_written(seq, !ec);
        } catch (const std::exception& e) {
          kLog.error("cannot update the outbox", {{"error", e.what()}});
        }
        if (!ec && pump_.in_flight() < 64) pump_outbox();
      });
    }
  }

  void send_heartbeat() {
    Envelope envelope;
    auto* heartbeat = envelope.mutable_heartbeat();
    heartbeat->set_config_version(config_.version());
    const auto host = metrics_.sample();
    auto* metrics = heartbeat->mutable_metrics();
    metrics->set_cpu_percent(host.cpu_percent);
    metrics->set_mem_used_bytes(host.mem_used_bytes);
    metrics->set_mem_total_bytes(host.mem_total_bytes);
    metrics->set_disk_used_bytes(host.disk_used_bytes);
    metrics->set_disk_total_bytes(host.disk_total_bytes);
    try {
      metrics->set_queue_depth(
          static_cast<std::uint32_t>(queue_depth_ ? queue_depth_() : outbox_.depth()));
    } catch (const std::exception& e) {
      kLog.warn("cannot read the queue depth", {{"error", e.what()}});
    }
    if (active_jobs_) {
      for (const auto& id : active_jobs_()) heartbeat->add_active_job_ids(id);
    }
    send_direct(envelope);
  }

  void schedule_heartbeat(std::chrono::seconds interval) {
    heartbeat_timer_.expires_after(interval);
    heartbeat_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
      if (ec || status_.state != ConnectionState::online) return;
      send_heartbeat();
      schedule_heartbeat(interval);
    });
  }

  // -------------------------------------------------------------- misc --
  void set_state(ConnectionState state) {
    if (status_.state == state) return;
    status_.state = state;
    if (options_.on_state_change) options_.on_state_change();
  }

  void fail_protocol(const std::string& reason) {
    kLog.error("protocol error", {{"reason", reason}});
    if (connection_) connection_->close(kCloseProtocolError, "protocol error");
  }

  void cancel_timers() {
    register_timer_.cancel();
    heartbeat_timer_.cancel();
    healthy_timer_.cancel();
  }

  void finish_stop() {
    stop_timer_.cancel();
    ++generation_;  // ignore anything still in flight
    if (auto done = std::exchange(stop_done_, nullptr)) done();
  }

  asio::io_context& io_;
  SessionOptions options_;
  ConfigManager& config_;
  state::Outbox& outbox_;
  hostinfo::MetricsSampler& metrics_;
  CommandHandler& commands_;
  OutboxPump pump_;
  net::Backoff backoff_;
  wire::EnvelopeStamper stamper_;
  std::shared_ptr<net::WssConnection> connection_;
  std::function<std::vector<std::string>()> active_jobs_;
  std::function<std::size_t()> queue_depth_;
  asio::steady_timer reconnect_timer_, register_timer_, heartbeat_timer_, healthy_timer_,
      stop_timer_;
  std::uint64_t generation_ = 0;
  std::uint64_t attempts_ = 0;
  bool stopping_ = false;
  std::function<void()> stop_done_;
  SessionStatus status_;
};

Session::Session(asio::io_context& io, SessionOptions options, ConfigManager& config,
                 state::Outbox& outbox, hostinfo::MetricsSampler& metrics, CommandHandler& commands)
    : impl_(std::make_unique<Impl>(io, std::move(options), config, outbox, metrics, commands)) {}

Session::~Session() = default;

void Session::start() {
  impl_->start();
}
void Session::stop(std::chrono::milliseconds grace, std::function<void()> done) {
  impl_->stop(grace, std::move(done));
}
void Session::wake_outbox() {
  impl_->wake_outbox();
}
void Session::set_active_jobs_provider(std::function<std::vector<std::string>()> provider) {
  impl_->set_active_jobs_provider(std::move(provider));
}
void Session::set_queue_depth_provider(std::function<std::size_t()> provider) {
  impl_->set_queue_depth_provider(std::move(provider));
}
SessionStatus Session::status() const {
  return impl_->status();
}

}  // namespace backupy::session
