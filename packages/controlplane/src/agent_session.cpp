// One agent's WebSocket session: the backup.v1 protocol state machine (Beast, callbacks).
//
//  - Every binary frame is one backup.v1.Envelope (at most max_message_bytes). Text frames and
//    frames that do not parse are logged and ignored.
//  - The first envelope must be Register, within options.register_timeout (10 s); otherwise
//    the session is closed with 1008 (policy violation). The reply is RegisterAck with a fresh
//    session id, the agent's AgentConfig, heartbeat_interval_sec, the server time and
//    server_capabilities: "delivery_ack.v1" when delivery_ack is enabled, "agent_cron.v1" when
//    the agent listed it and scheduling.agent_cron is enabled (the negotiated mode is kept per
//    agent in ServerState and the catalog: the server's schedule skips such agents). Every
//    AgentConfig sent carries key_wrapping (ServerState::published_config).
//  - Outgoing envelopes carry seq = 1, 2, ... and ts_ms. A Ping goes out every
//    ping_interval_sec; Beast's idle timeout (with keep-alive WebSocket pings) ends a session
//    that stays silent for idle_timeout_sec.
//  - Once registered, the runs that waited for the agent are sent (run_dispatcher.hpp).
//  - Operator commands (RunBackup, CancelJob, SelfUpdate) are queued by send_command(); JobUpdate
//    and BackupCompleted results also update the run they name (operator_endpoint.hpp), an Ack
//    with a SelfUpdate's correlation id records the agent's answer (self_update_requests.hpp).
//  - UploadCredsRequest (agent_cron.v1) adopts the agent's run and answers RunBackup with
//    credentials (agent_runs.hpp); it comes from the agent's outbox and is acked like a result.
//  - Envelopes with outbox_seq > 0 go through the DeliveryLedger: replays are logged as
//    "duplicate", new ones as "result". When both sides advertised "delivery_ack.v1", a
//    cumulative DeliveryAck is sent, coalesced by AckCoalescer (20 ms / 100 entries).
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "agent_results.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/wire/capabilities.hpp"
#include "backupy/wire/envelope_codec.hpp"
#include "operator_endpoint.hpp"
#include "transport.hpp"

namespace backupy::controlplane::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using error_code = boost::system::error_code;
using Envelope = backup::v1::Envelope;

constexpr std::chrono::seconds kWebSocketHandshakeTimeout{5};

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

class Session final : public AgentSession, public std::enable_shared_from_this<Session> {
 public:
  Session(TlsStream stream, std::string agent_id, std::string remote, ServerState& state)
      : state_(state),
        slot_(state),
        ws_(std::move(stream)),
        register_timer_(ws_.get_executor()),
        ping_timer_(ws_.get_executor()),
        ack_timer_(ws_.get_executor()),
        agent_id_(std::move(agent_id)),
        session_id_(core::to_hex(crypto::random_bytes(16))),
        remote_(std::move(remote)) {}

  void start(HttpRequest request) {
    const ServerConfig& config = *state_.config;
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kWebSocketHandshakeTimeout;
    timeouts.idle_timeout = std::chrono::seconds(config.idle_timeout_sec);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::server, "backupy-control-plane");
    }));
    ws_.read_message_max(config.max_message_bytes);
    ws_.binary(true);
    upgrade_request_ = std::move(request);
    ws_.async_accept(*upgrade_request_,
                     [self = shared_from_this()](error_code ec) { self->on_accept(ec); });
  }

  const std::string& agent_id() const override { return agent_id_; }
  const std::string& session_id() const override { return session_id_; }

  bool push_config_if_changed(const backup::v1::AgentConfig& config) override {
    if (!registered_ || closing_ || finished_) return false;
    backup::v1::AgentConfig published = state_.published_config(config);
    std::string bytes = published.SerializeAsString();
    if (bytes == sent_config_) return false;
    Envelope envelope;
    envelope.set_correlation_id(next_correlation_id("config"));
    *envelope.mutable_config_update()->mutable_config() = std::move(published);
    sent_config_ = std::move(bytes);
    emit(core::LogLevel::info, "config_update_sent",
         {{"version", config.version()}, {"correlation_id", envelope.correlation_id()}});
    state_.agent_status.on_config_sent(agent_id_, session_id_, config.version());
    send(std::move(envelope));
    return true;
  }

  bool registered() const override { return registered_ && !closing_ && !finished_; }

  std::optional<std::string> send_command(std::string_view kind, Envelope envelope) override {
    if (!registered()) return std::nullopt;
    envelope.set_correlation_id(next_correlation_id(kind));
    std::string correlation_id = envelope.correlation_id();
    send(std::move(envelope));
    return correlation_id;
  }

  void close(std::uint16_t code, std::string reason) override {
    if (!accepted_ || closing_ || finished_) return;
    closing_ = true;
    close_reason_ = reason;
    cancel_timers();
    pending_close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (!writing_) do_close();
  }

 private:
  void on_accept(error_code ec) {
    upgrade_request_.reset();
    if (ec) {
      state_.log.warn("websocket_handshake_failed", {{"event", "websocket_handshake_failed"},
                                                     {"agent_id", agent_id_},
                                                     {"remote", remote_},
                                                     {"error", ec.message()}});
      return;
    }
    accepted_ = true;
    state_.metrics.session_opened();
    state_.attach(shared_from_this());
    emit(core::LogLevel::info, "agent_connected", {{"remote", remote_}});
    if (state_.stopping) {
      close(kCloseGoingAway, "server shutting down");
    } else {
      register_timer_.expires_after(state_.options.register_timeout);
      register_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->on_register_timeout();
      });
    }
    read();
  }

  void on_register_timeout() {
    if (registered_ || closing_ || finished_) return;
    state_.metrics.session_rejected("register_timeout");
    emit(core::LogLevel::warn, "register_timeout",
         {{"timeout_ms", state_.options.register_timeout.count()}});
    close(kClosePolicy, "Register not received in time");
  }

  // ------------------------------------------------------------------ reading --

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](error_code ec, std::size_t bytes) {
      self->on_read(ec, bytes);
    });
  }

  void on_read(error_code ec, std::size_t bytes) {
    if (ec) return finish(ec);
    if (!ws_.got_binary()) {
      state_.metrics.message_received("text");
      emit(core::LogLevel::warn, "text_frame_ignored", {{"bytes", bytes}});
    } else {
      const auto data = buffer_.cdata();
      const auto decoded = wire::decode_agent_frame(
          std::string_view(static_cast<const char*>(data.data()), data.size()));
      const auto* rejected = std::get_if<wire::Rejected>(&decoded);
      if (rejected && !rejected->envelope) {
        state_.metrics.message_received("malformed");
        emit(core::LogLevel::warn, "malformed_envelope", {{"bytes", bytes}});
      } else {
        const Envelope& envelope = rejected ? *rejected->envelope : std::get<Envelope>(decoded);
        state_.metrics.message_received(wire::payload_name(envelope.payload_case()));
        // Empty, unknown and server-only payloads are not skipped: they still count for seq and
        // outbox_seq, and handle() reports them (protocol_violation, unexpected_message).
        handle(envelope);
      }
    }
    buffer_.consume(buffer_.size());
    read();
  }

  void handle(const Envelope& envelope) {
    if (closing_) return;  // the session is ending; results arrive again on the next one
    if (last_in_seq_ != 0 && envelope.seq() <= last_in_seq_) {
      emit(core::LogLevel::warn, "seq_not_monotonic",
           {{"seq", envelope.seq()}, {"previous_seq", last_in_seq_}});
    }
    last_in_seq_ = envelope.seq();

    if (!registered_) {
      if (envelope.payload_case() == Envelope::kRegister) return on_register(envelope);
      state_.metrics.session_rejected("protocol_violation");
      emit(core::LogLevel::warn, "protocol_violation",
           {{"reason", "first message must be Register"},
            {"payload", wire::payload_name(envelope.payload_case())}});
      return close(kClosePolicy, "first message must be Register");
    }

    const std::uint64_t outbox_seq = envelope.outbox_seq();
    if (outbox_seq > 0) {
      const DeliveryLedger::Result result = state_.ledger.record(agent_id_, outbox_seq);
      if (result.outcome == DeliveryLedger::Outcome::duplicate) {
        emit(core::LogLevel::info, "duplicate",
             {{"outbox_seq", outbox_seq}, {"type", wire::payload_name(envelope.payload_case())}});
        return note_outbox_entry();
      }
      if (result.gap_first != 0) {
        emit(core::LogLevel::warn, "outbox_gap",
             {{"missing_first", result.gap_first}, {"missing_last", result.gap_last}});
      }
    }
    dispatch(envelope);
    if (outbox_seq > 0) note_outbox_entry();
  }

  void dispatch(const Envelope& envelope) {
    switch (envelope.payload_case()) {
      case Envelope::kRegister: emit(core::LogLevel::warn, "unexpected_register"); return;
      case Envelope::kHeartbeat: return note_heartbeat(envelope.heartbeat());
      case Envelope::kAck: {
        const backup::v1::Ack& ack = envelope.ack();
        emit(core::LogLevel::info, "ack",
             {{"correlation_id", ack.correlation_id()},
              {"accepted", ack.accepted()},
              {"reason", ack.reason()}});
        // The answer to an operator's SelfUpdate (GET /v1/agents/{id}/self-update shows it).
        if (const SelfUpdateRequest* request =
                state_.self_updates.answer(agent_id_, ack, core::now_ms())) {
          emit(ack.accepted() ? core::LogLevel::info : core::LogLevel::warn, "self_update_answered",
               {{"correlation_id", request->correlation_id},
                {"target_version", request->target_version},
                {"accepted", request->accepted},
                {"reason", request->reason}});
        }
        return;
      }
      case Envelope::kJobUpdate:
      case Envelope::kBackupCompleted:
        log_result(envelope);
        return note_run_result(state_, agent_id_, envelope);
      case Envelope::kUploadCredsRequest:
        log_result(envelope);
        return note_upload_creds_request(state_, agent_id_, envelope.upload_creds_request());
      case Envelope::kHealthCheckResult:
      case Envelope::kLogEvent:
        log_result(envelope);
        return note_agent_result(state_, agent_id_, envelope);  // the catalog
      case Envelope::kDiscoveryReport:
      case Envelope::kRestoreUpdate: return log_result(envelope);
      default:
        emit(core::LogLevel::warn, "unexpected_message",
             {{"payload", wire::payload_name(envelope.payload_case())}});
        return;
    }
  }

  void on_register(const Envelope& envelope) {
    const backup::v1::Register& reg = envelope.register_();
    const AgentEntry* entry = state_.registry.find(agent_id_);
    if (entry == nullptr) {  // removed by a reload since the handshake
      return close(kClosePolicy, "agent removed from configuration");
    }
    registered_ = true;
    register_timer_.cancel();
    const ServerConfig& config = *state_.config;
    bool agent_acks = false;
    bool agent_schedules = false;
    for (const std::string& capability : reg.capabilities()) {
      if (capability == wire::kCapDeliveryAck) agent_acks = true;
      if (capability == wire::kCapAgentCron) agent_schedules = true;
    }
    delivery_ack_ = config.delivery_ack && agent_acks;
    const bool agent_cron = config.scheduling.agent_cron && agent_schedules;
    emit(core::LogLevel::info, "register",
         {{"agent_version", reg.agent_version()},
          {"hostname", reg.hostname()},
          {"os", reg.os()},
          {"arch", reg.arch()},
          {"docker_version", reg.docker_version()},
          {"capabilities", join(reg.capabilities())},
          {"last_known_config_version", reg.last_known_config_version()},
          {"delivery_ack", delivery_ack_},
          {"agent_cron", agent_cron}});

    Envelope reply;
    reply.set_correlation_id(envelope.correlation_id());
    backup::v1::RegisterAck* ack = reply.mutable_register_ack();
    ack->set_session_id(session_id_);
    *ack->mutable_config() = state_.published_config(entry->config);
    ack->set_heartbeat_interval_sec(config.heartbeat_interval_sec);
    ack->set_server_time_iso(core::iso8601_utc(core::now_ms()));
    if (config.delivery_ack) ack->add_server_capabilities(std::string(wire::kCapDeliveryAck));
    if (agent_cron) ack->add_server_capabilities(std::string(wire::kCapAgentCron));
    sent_config_ = ack->config().SerializeAsString();
    state_.agent_status.on_register(agent_id_, session_id_, reg, entry->config.version(),
                                    core::now_ms(), remote_);
    // After on_register (which writes the agent's catalog row): the schedule follows the mode
    // from now on, also after a restart while the agent is offline.
    state_.set_agent_cron(agent_id_, agent_cron);
    send(std::move(reply));
    schedule_ping();
    // Runs created while the agent was away go out right behind the RegisterAck.
    deliver_waiting_runs(state_, agent_id_);
  }

  // Logs the heartbeat and keeps its figures for GET /v1/agents.
  void note_heartbeat(const backup::v1::Heartbeat& heartbeat) {
    state_.agent_status.on_heartbeat(agent_id_, session_id_, heartbeat, core::now_ms());
    const backup::v1::AgentMetrics& metrics = heartbeat.metrics();
    emit(core::LogLevel::info, "heartbeat",
         {{"config_version", heartbeat.config_version()},
          {"cpu_percent", static_cast<double>(metrics.cpu_percent())},
          {"mem_used_bytes", metrics.mem_used_bytes()},
          {"mem_total_bytes", metrics.mem_total_bytes()},
          {"disk_used_bytes", metrics.disk_used_bytes()},
          {"disk_total_bytes", metrics.disk_total_bytes()},
          {"queue_depth", metrics.queue_depth()},
          {"active_job_ids", join(heartbeat.active_job_ids())}});
  }

  void log_result(const Envelope& envelope) {
    // Every result names its payload type and durable id before its own fields.
    const auto result = [&](core::LogFields fields) {
      std::vector<core::LogField> all =
          session_fields("result", {{"type", wire::payload_name(envelope.payload_case())},
                                    {"outbox_seq", envelope.outbox_seq()}});
      all.insert(all.end(), fields);
      state_.log.log(core::LogLevel::info, "result", all);
    };
    switch (envelope.payload_case()) {
      case Envelope::kJobUpdate: {
        const backup::v1::JobUpdate& m = envelope.job_update();
        return result({{"job_id", m.job_id()},
                       {"run_id", m.run_id()},
                       {"status", backup::v1::JobStatus_Name(m.status())},
                       {"progress_percent", m.progress_percent()},
                       {"current_step", m.current_step()},
                       {"error_message", m.error_message()}});
      }
      case Envelope::kBackupCompleted: {
        const backup::v1::BackupCompleted& m = envelope.backup_completed();
        return result({{"job_id", m.job_id()},
                       {"run_id", m.run_id()},
                       {"status", "SUCCESS"},
                       {"s3_key", m.s3_key()},
                       {"size_bytes", m.size_bytes()},
                       {"sha256", m.sha256()},
                       {"duration_ms", m.duration_ms()},
                       {"compression", m.compression()},
                       {"db_engine_version", m.db_engine_version()},
                       {"dek_kms_id", m.dek_kms_id()},
                       {"encrypted_dek_bytes", m.encrypted_dek().size()}});
      }
      case Envelope::kHealthCheckResult: {
        const backup::v1::HealthCheckResult& m = envelope.health_check_result();
        return result({{"check_id", m.check_id()},
                       {"ok", m.ok()},
                       {"latency_ms", m.latency_ms()},
                       {"status_code", m.status_code()},
                       {"error_message", m.error()}});
      }
      case Envelope::kDiscoveryReport: {
        const backup::v1::DiscoveryReport& m = envelope.discovery_report();
        std::string names;
        for (const backup::v1::DiscoveredContainer& container : m.containers()) {
          if (!names.empty()) names += ',';
          names += container.name();
        }
        return result({{"containers", m.containers_size()}, {"container_names", names}});
      }
      case Envelope::kLogEvent: {
        const backup::v1::LogEvent& m = envelope.log_event();
        return result({{"log_level", backup::v1::LogLevel_Name(m.level())},
                       {"job_id", m.job_id()},
                       {"message", m.message()}});
      }
      case Envelope::kUploadCredsRequest: {
        const backup::v1::UploadCredsRequest& m = envelope.upload_creds_request();
        return result(
            {{"job_id", m.job_id()},
             {"run_id", m.run_id()},
             {"scheduled_for",
              m.scheduled_for_ms() == 0 ? std::string() : core::iso8601_utc(m.scheduled_for_ms())},
             {"catch_up", m.catch_up()},
             {"dek_kms_id", m.dek_kms_id()},
             {"encrypted_dek_bytes", m.encrypted_dek().size()}});
      }
      case Envelope::kRestoreUpdate: {
        const backup::v1::RestoreUpdate& m = envelope.restore_update();
        return result({{"restore_id", m.restore_id()},
                       {"status", backup::v1::JobStatus_Name(m.status())},
                       {"progress_percent", m.progress_percent()},
                       {"current_step", m.current_step()},
                       {"error_message", m.error_message()}});
      }
      default: return;
    }
  }

  // ------------------------------------------------------------------ logging --

  // The fields every event of this session starts with (the operator's and the tests' keys to
  // it), then `more`. Keys are literals, and every value owns its text: nothing dangles.
  std::vector<core::LogField> session_fields(std::string_view event, core::LogFields more) const {
    std::vector<core::LogField> fields{
        {"event", event}, {"agent_id", agent_id_}, {"session_id", session_id_}};
    fields.insert(fields.end(), more);
    return fields;
  }

  // Logs a session event; its name is also the message.
  void emit(core::LogLevel level, std::string_view event, core::LogFields more = {}) const {
    state_.log.log(level, event, session_fields(event, more));
  }

  // ------------------------------------------------------- delivery acks --

  void note_outbox_entry() {
    if (!delivery_ack_) return;
    switch (coalescer_.on_entry()) {
      case AckCoalescer::Action::none: return;
      case AckCoalescer::Action::send_now: return send_delivery_ack();
      case AckCoalescer::Action::arm_timer:
        ack_timer_.expires_after(AckCoalescer::kMaxDelay);
        ack_timer_.async_wait([self = shared_from_this()](error_code ec) {
          if (ec) return;
          if (self->coalescer_.on_timer()) self->send_delivery_ack();
        });
        return;
    }
  }

  void send_delivery_ack() {
    coalescer_.on_sent();
    if (closing_ || finished_) return;
    const std::uint64_t through = state_.ledger.highest(agent_id_);
    if (through == 0) return;
    Envelope envelope;
    envelope.mutable_delivery_ack()->set_through_outbox_seq(through);
    send(std::move(envelope));
    emit(core::LogLevel::info, "delivery_ack_sent", {{"through", through}});
  }

  // ----------------------------------------------------------------- ping --

  void schedule_ping() {
    ping_timer_.expires_after(std::chrono::seconds(state_.config->ping_interval_sec));
    ping_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closing_ || self->finished_) return;
      self->send_ping();
      self->schedule_ping();
    });
  }

  void send_ping() {
    Envelope envelope;
    envelope.set_correlation_id(next_correlation_id("ping"));
    envelope.mutable_ping()->set_ts_ms(core::now_ms());
    emit(core::LogLevel::info, "ping_sent", {{"correlation_id", envelope.correlation_id()}});
    send(std::move(envelope));
  }

  std::string next_correlation_id(std::string_view kind) {
    return std::string(kind) + "-" + session_id_.substr(0, 12) + "-" +
           std::to_string(++correlation_counter_);
  }

  // -------------------------------------------------------------- writing --

  void send(Envelope envelope) {
    if (closing_ || finished_) return;
    envelope.set_seq(++out_seq_);
    envelope.set_ts_ms(core::now_ms());
    queue_.push_back(envelope.SerializeAsString());
    if (!writing_) write_next();
  }

  void write_next() {
    if (queue_.empty()) {
      if (pending_close_) do_close();
      return;
    }
    writing_ = true;
    ws_.async_write(
        asio::buffer(queue_.front()),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    queue_.pop_front();
    if (ec) {
      queue_.clear();
      pending_close_.reset();
      // The connection is broken; make sure the pending read ends too.
      beast::get_lowest_layer(ws_).close();
      return;
    }
    write_next();
  }

  void do_close() {
    const websocket::close_reason reason = *pending_close_;
    pending_close_.reset();
    writing_ = true;  // a close frame counts as a write: nothing may follow it
    ws_.async_close(reason, [self = shared_from_this()](error_code) {
      // The read loop sees the agent's close frame (or the timeout) and finishes.
    });
  }

  // ------------------------------------------------------------- teardown --

  void cancel_timers() {
    register_timer_.cancel();
    ping_timer_.cancel();
    ack_timer_.cancel();
  }

  void finish(error_code ec) {
    if (finished_) return;
    finished_ = true;
    cancel_timers();
    state_.detach(*this);
    std::string reason;
    if (close_reason_) {
      reason = *close_reason_;
    } else if (ec == websocket::error::closed) {
      const websocket::close_reason& remote = ws_.reason();
      reason = "agent closed the connection (" + std::to_string(remote.code) +
               (remote.reason.empty() ? "" : " " + std::string(remote.reason.c_str())) + ")";
    } else if (ec == beast::error::timeout) {
      reason = "idle timeout";
    } else {
      reason = ec.message();
    }
    state_.agent_status.on_disconnect(agent_id_, session_id_, core::now_ms(), reason);
    emit(core::LogLevel::info, "agent_disconnected", {{"reason", reason}});
  }

  ServerState& state_;
  ConnectionSlot slot_;
  websocket::stream<TlsStream> ws_;
  asio::steady_timer register_timer_;
  asio::steady_timer ping_timer_;
  asio::steady_timer ack_timer_;
  beast::flat_buffer buffer_;
  std::optional<HttpRequest> upgrade_request_;
  std::deque<std::string> queue_;
  std::optional<websocket::close_reason> pending_close_;
  std::optional<std::string> close_reason_;
  std::string agent_id_;
  std::string session_id_;
  std::string remote_;
  std::string sent_config_;  // serialized AgentConfig the agent last received
  AckCoalescer coalescer_;
  std::uint64_t out_seq_ = 0;
  std::uint64_t last_in_seq_ = 0;
  std::uint64_t correlation_counter_ = 0;
  bool accepted_ = false;
  bool registered_ = false;
  bool delivery_ack_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

}  // namespace

void start_agent_session(TlsStream stream, HttpRequest request, std::string agent_id,
                         std::string remote, ServerState& state) {
  std::make_shared<Session>(std::move(stream), std::move(agent_id), std::move(remote), state)
      ->start(std::move(request));
}

}  // namespace backupy::controlplane::detail
