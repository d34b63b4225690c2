// In-process tests of the server: a real TLS listener on 127.0.0.1:0 and a small Beast
// client (the only Beast translation unit of the tests).
#include "backupy/controlplane/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/controlplane/delivery_tracker.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/key_wrap.hpp"
#include "backupy/token/decrypt_token.hpp"
#include "backupy/wire/capabilities.hpp"
#include "test_support.hpp"

namespace backupy::controlplane {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Envelope = backup::v1::Envelope;
using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::kKeyA;
using testing::kKeyAHash;
using testing::kKeyB;
using testing::kKeyBHash;
using testing::TempDir;
using testing::write_text;

constexpr std::string_view kPassword = "pw-s3cret-123";

// ------------------------------------------------------------------------- logs --

// --------------------------------------------------------------------- clients --

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

void trust_test_ca(ssl::context& ctx, const std::filesystem::path& ca) {
  ctx.load_verify_file(ca.string());
  ctx.set_verify_mode(ssl::verify_peer);
}

// Sends `request` over a fresh TLS connection to 127.0.0.1:port and reads the answer.
template <typename Body>
HttpReply https_exchange(std::uint16_t port, const std::filesystem::path& ca,
                         http::request<Body>& request) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  trust_test_ca(ctx, ca);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(ssl::stream_base::client);
  if (request.find(http::field::host) == request.end()) {
    request.set(http::field::host, "127.0.0.1");
  }
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
  return {response.result_int(), response.body(), std::string(response[http::field::content_type])};
}

HttpReply https_get(std::uint16_t port, const std::filesystem::path& ca, const std::string& target,
                    const std::optional<std::string>& authorization = {}) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  if (authorization) request.set(http::field::authorization, *authorization);
  return https_exchange(port, ca, request);
}

HttpReply https_request(std::uint16_t port, const std::filesystem::path& ca, http::verb verb,
                        const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body = "") {
  http::request<http::string_body> request(verb, target, 11);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  return https_exchange(port, ca, request);
}

// A minimal agent: async Beast ops driven with io_context::run_one_for so every wait is
// bounded.
class AgentClient {
 public:
  AgentClient(std::uint16_t port, const std::filesystem::path& ca)
      : port_(port), ctx_(ssl::context::tls_client) {
    trust_test_ca(ctx_, ca);
  }

  // Connects and upgrades; returns 101 on success, 0 if the upgrade was declined.
  unsigned connect(const std::string& key) {
    ws_ = std::make_unique<Ws>(io_, ctx_);
    ws_->next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(*ws_).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    ws_->next_layer().handshake(ssl::stream_base::client);
    ws_->set_option(websocket::stream_base::decorator([key](websocket::request_type& request) {
      request.set(http::field::authorization, "Bearer " + key);
    }));
    websocket::response_type response;
    error_code ec;
    ws_->handshake(response, "127.0.0.1:" + std::to_string(port_), "/v1/agents/connect", ec);
    ws_->binary(true);
    // Beast 1.74 does not hand back the response of a declined upgrade: report 0 then.
    return ec ? 0u : response.result_int();
  }

  // Connects, registers and returns the RegisterAck envelope.
  Envelope register_agent(const std::string& key,
                          std::vector<std::string> capabilities = {"pg_dump", "delivery_ack.v1"}) {
    EXPECT_EQ(connect(key), 101u);
    Envelope envelope;
    backup::v1::Register* reg = envelope.mutable_register_();
    reg->set_agent_version("1.2.3");
    reg->set_hostname("host-1");
    reg->set_os("linux");
    reg->set_arch("amd64");
    reg->set_last_known_config_version(2);
    for (std::string& capability : capabilities) reg->add_capabilities(std::move(capability));
    envelope.set_correlation_id("reg-1");
    send(envelope);
    std::optional<Envelope> ack = next(3s);
    EXPECT_TRUE(ack && ack->has_register_ack()) << (ack ? ack->DebugString() : "nothing");
    return ack.value_or(Envelope());
  }

  void send(Envelope envelope) {
    envelope.set_seq(++seq_);
    envelope.set_ts_ms(core::now_ms());
    send_raw(envelope.SerializeAsString(), true);
  }

  void send_raw(const std::string& bytes, bool binary) {
    ws_->binary(binary);
    auto state = std::make_shared<std::optional<error_code>>();
    ws_->async_write(asio::buffer(bytes), [state](error_code ec, std::size_t) { *state = ec; });
    run_until([&] { return state->has_value(); }, 5s);
    ws_->binary(true);
    ASSERT_TRUE(state->has_value()) << "write timed out";
    EXPECT_FALSE(state->value()) << state->value().message();
  }

  // The next envelope, or nullopt on timeout or when the connection ended (see closed()).
  std::optional<Envelope> next(std::chrono::milliseconds timeout) {
    if (closed_) return std::nullopt;
    if (!read_) {
      read_ = std::make_shared<std::optional<error_code>>();
      ws_->async_read(buffer_, [state = read_](error_code ec, std::size_t) { *state = ec; });
    }
    run_until([&] { return read_->has_value(); }, timeout);
    if (!read_->has_value()) return std::nullopt;
    const error_code ec = read_->value();
    read_.reset();
    if (ec) {
      closed_ = true;
      close_reason_ = ws_->reason();
      return std::nullopt;
    }
    Envelope envelope;
    const auto data = buffer_.cdata();
    EXPECT_TRUE(envelope.ParseFromArray(data.data(), static_cast<int>(data.size())));
    buffer_.consume(buffer_.size());
    EXPECT_GT(envelope.seq(), last_in_seq_) << "server seq must increase";
    last_in_seq_ = envelope.seq();
    return envelope;
  }

  // The next envelope with the given payload, skipping others (e.g. pings).
  std::optional<Envelope> next_of(Envelope::PayloadCase payload,
                                  std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::optional<Envelope> envelope = next(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!envelope) return std::nullopt;
      if (envelope->payload_case() == payload) return envelope;
    }
    return std::nullopt;
  }

  // Reads DeliveryAcks until one covers `through`; returns every through value seen.
  std::vector<std::uint64_t> acks_until(std::uint64_t through,
                                        std::chrono::milliseconds timeout = 5s) {
    std::vector<std::uint64_t> seen;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (seen.empty() || seen.back() < through) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      std::optional<Envelope> envelope = next_of(Envelope::kDeliveryAck, left);
      if (!envelope) break;
      seen.push_back(envelope->delivery_ack().through_outbox_seq());
    }
    return seen;
  }

  bool closed() const { return closed_; }
  const websocket::close_reason& close_reason() const { return close_reason_; }

  // Waits for the server to end the connection.
  bool wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now()));
    }
    return closed_;
  }

 private:
  using Ws = websocket::stream<beast::ssl_stream<tcp::socket>>;

  void run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    io_.restart();
    while (!done()) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= 0ms) break;
      io_.run_one_for(left);
      if (io_.stopped()) io_.restart();
    }
  }

  std::uint16_t port_;
  asio::io_context io_;
  ssl::context ctx_;
  std::unique_ptr<Ws> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<std::optional<error_code>> read_;
  std::uint64_t seq_ = 0;
  std::uint64_t last_in_seq_ = 0;
  bool closed_ = false;
  websocket::close_reason close_reason_;
};

Envelope job_update(std::uint64_t outbox_seq, backup::v1::JobStatus status = backup::v1::RUNNING) {
  Envelope envelope;
  envelope.set_outbox_seq(outbox_seq);
  backup::v1::JobUpdate* update = envelope.mutable_job_update();
  update->set_job_id("nightly");
  update->set_run_id("run-" + std::to_string(outbox_seq));
  update->set_status(status);
  update->set_progress_percent(50);
  if (status == backup::v1::FAILED) update->set_error_message("disk full");
  return envelope;
}

// ---------------------------------------------------------------------- fixture --

struct Knobs {
  std::uint32_t ping_interval_sec = 30;
  bool delivery_ack = true;
  std::uint64_t version = 3;
  bool with_agent_a = true;
  bool with_operator_api = false;  // admin token kAdminToken + storage
  bool local_storage = false;      // with_operator_api: storage type local instead of s3
  std::string cron = "0 3 * * *";  // agent-a's job "nightly"
};

const std::string kAdminToken = "operator-admin-token-42";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string command =
        "bash " + std::string(BACKUPY_TEST_PKI_SCRIPT) + " " + dir_.path().string();
    ASSERT_EQ(std::system(command.c_str()), 0);
  }

  void TearDown() override { stop_server(); }

  std::filesystem::path config_file() const { return dir_.path() / "cp.yaml"; }
  std::filesystem::path ca() const { return dir_.path() / "ca.crt"; }

  void write_config(const Knobs& knobs) {
    std::string yaml =
        "listen: \"127.0.0.1:0\"\n"
        "tls: {cert_file: server.crt, key_file: server.key}\n"
        "heartbeat_interval_sec: 15\n"
        "ping_interval_sec: " +
        std::to_string(knobs.ping_interval_sec) +
        "\n"
        "idle_timeout_sec: 60\n"
        "delivery_ack: " +
        std::string(knobs.delivery_ack ? "true" : "false") +
        "\n"
        "agents:\n";
    if (knobs.with_agent_a) {
      yaml +=
          "  - id: agent-a\n"
          "    key_sha256: \"" +
          std::string(kKeyAHash) +
          "\"\n"
          "    config:\n"
          "      version: " +
          std::to_string(knobs.version) +
          "\n"
          "      targets: [{id: pg1, type: postgresql, connection: {host: db, port: 5432,"
          " username: backup, password: \"" +
          std::string(kPassword) +
          "\"}}]\n"
          "      jobs: [{id: nightly, target_id: pg1, cron: \"" +
          knobs.cron + "\"}]\n";
    }
    yaml +=
        "  - id: agent-b\n"
        "    key_sha256: \"" +
        std::string(kKeyBHash) + "\"\n";
    if (knobs.with_operator_api) {
      yaml += "admin: {token_sha256: [\"" + hash_agent_key(kAdminToken) + "\"]}\n";
      yaml += knobs.local_storage
                  ? "storage: {type: local, dir: objects}\n"
                  : "storage: {type: s3, endpoint: \"http://127.0.0.1:9000\", region: us-east-1, "
                    "bucket: backups, access_key_id: AKID, secret_access_key_file: s3.secret}\n";
      write_text(dir_.path() / "s3.secret", "s3-secret-value");
    }
    write_text(config_file(), yaml);
  }

  void start(const Knobs& knobs = {}, ServerOptions options = {}) {
    write_config(knobs);
    options.config_file = config_file();
    options.handle_signals = false;
    server_ = std::make_unique<Server>(load_server_config(config_file()), options);
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { server_->run(); });
    ASSERT_TRUE(logs_.wait_for("listening"));
  }

  void stop_server() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  AgentClient client() { return AgentClient(port_, ca()); }

  // No line may ever carry an agent key or a configured password.
  void expect_no_secrets_logged() {
    const std::string all = logs_.all();
    EXPECT_EQ(all.find(kKeyA), std::string::npos);
    EXPECT_EQ(all.find(kKeyB), std::string::npos);
    EXPECT_EQ(all.find(kPassword), std::string::npos);
  }

  testing::LogCapture logs_;  // first: outlives the server thread
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

// ------------------------------------------------------------------------ HTTP --

TEST_F(ServerTest, LogsTheBoundPort) {
  start();
  const std::optional<json> listening = logs_.wait_for("listening");
  ASSERT_TRUE(listening);
  EXPECT_EQ((*listening)["port"].get<int>(), port_);
  EXPECT_EQ((*listening)["component"], "control-plane");
}

TEST_F(ServerTest, HealthzAnswersOk) {
  start();
  HttpReply reply = https_get(port_, ca(), "/healthz");
  EXPECT_EQ(reply.status, 200u);
  EXPECT_EQ(reply.body, R"({"status":"ok"})");
  EXPECT_EQ(https_get(port_, ca(), "/healthz?probe=1").status, 200u);
}

TEST_F(ServerTest, OtherPathsAre404) {
  start();
  for (const char* path : {"/", "/v2/agents", "/healthz/x"}) {
    HttpReply reply = https_get(port_, ca(), path, "Bearer " + kKeyA);
    EXPECT_EQ(reply.status, 404u) << path;
    EXPECT_EQ(reply.body, R"({"error":"not found"})");
  }
  // Other /v1 paths belong to the operator API: an agent key is no admin token.
  for (const char* path : {"/v1/agents", "/v1/agents/connect/x"}) {
    HttpReply reply = https_get(port_, ca(), path, "Bearer " + kKeyA);
    EXPECT_EQ(reply.status, 401u) << path;
    EXPECT_EQ(reply.body, R"({"error":"unauthorized"})");
  }
}

// The operator API end to end in process: POST run -> RunBackup on the agent's session ->
// the agent's JobUpdate -> GET run.
TEST_F(ServerTest, OperatorApiDispatchesRunsToRegisteredAgents) {
  start({.with_operator_api = true});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  EXPECT_EQ(https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run", {}).status, 401u);
  // The agent is offline: the run waits for it and goes out when it registers.
  const HttpReply offline =
      https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run", auth);
  ASSERT_EQ(offline.status, 202u) << offline.body;
  const json waiting = json::parse(offline.body);
  EXPECT_FALSE(waiting.value("delivered", true));

  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const std::optional<Envelope> delivered = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(delivered);
  EXPECT_EQ(delivered->run_backup().run_id(), waiting.value("run_id", ""));
  ASSERT_TRUE(logs_.wait_for("waiting_runs_delivered"));
  Envelope ended = job_update(1, backup::v1::FAILED);
  ended.mutable_job_update()->set_run_id(waiting.value("run_id", ""));
  agent.send(ended);
  ASSERT_TRUE(logs_.wait_for("run_update"));

  std::vector<std::pair<std::string, std::string>> with_key = auth;
  with_key.emplace_back("Idempotency-Key", "once");
  const HttpReply accepted =
      https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run", with_key);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::string run_id = json::parse(accepted.body).value("run_id", "");
  const HttpReply replayed =
      https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run", with_key);
  EXPECT_EQ(replayed.body, accepted.body);

  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(command);
  EXPECT_EQ(command->run_backup().run_id(), run_id);
  EXPECT_EQ(command->run_backup().encrypted_dek().size(), 32u);
  EXPECT_TRUE(command->correlation_id().starts_with("run-"));
  EXPECT_EQ(command->run_backup().upload_creds().presigned_put_url().rfind(
                "http://127.0.0.1:9000/backups/agents/agent-a/nightly/" + run_id + ".bkpy?", 0),
            0u);
  EXPECT_FALSE(agent.next_of(Envelope::kRunBackup, 300ms)) << "the replay sent a second run";

  Envelope update = job_update(2, backup::v1::FAILED);
  update.mutable_job_update()->set_run_id(run_id);
  agent.send(update);
  ASSERT_TRUE(logs_.wait_for("run_update",
                             [&](const json& line) { return line.value("run_id", "") == run_id; }));
  const HttpReply view = https_request(port_, ca(), http::verb::get, "/v1/runs/" + run_id, auth);
  ASSERT_EQ(view.status, 200u);
  const json run = json::parse(view.body);
  EXPECT_EQ(run.value("status", ""), "failed");
  EXPECT_EQ(run.value("error", ""), "disk full");
  EXPECT_EQ(run.value("updates", 0), 1);

  EXPECT_EQ(https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/cancel", auth).status,
            202u);
  const std::optional<Envelope> cancel = agent.next_of(Envelope::kCancelJob);
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->cancel_job().job_id(), "nightly");
  EXPECT_EQ(logs_.all().find(kAdminToken), std::string::npos);
  EXPECT_EQ(logs_.all().find("s3-secret-value"), std::string::npos);
  expect_no_secrets_logged();
}

// The server's own timer fires the job's cron and sends the run; a reload reschedules.
TEST_F(ServerTest, TheScheduleSendsRunsAndAReloadReschedules) {
  start({.with_operator_api = true, .cron = "* * * * * *"});  // every second
  const std::optional<json> built = logs_.wait_for("schedule_built");
  ASSERT_TRUE(built);
  EXPECT_EQ(built->value("scheduled_jobs", 0), 1);
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup, 5s);
  ASSERT_TRUE(command);
  EXPECT_FALSE(command->run_backup().manual_trigger());
  const std::optional<json> scheduled = logs_.wait_for("run_scheduled");
  ASSERT_TRUE(scheduled);
  EXPECT_EQ(scheduled->value("job_id", ""), "nightly");
  // The run is still going: the next fire is skipped, naming it.
  const std::optional<json> skipped = logs_.wait_for("run_skipped", {}, 5s);
  ASSERT_TRUE(skipped);
  EXPECT_EQ(skipped->value("active_run_id", ""), command->run_backup().run_id());

  // Manual-only after a reload: the schedule is rebuilt without the job.
  write_config({.with_operator_api = true, .cron = ""});
  ASSERT_TRUE(server_->reload().ok);
  EXPECT_TRUE(logs_.wait_for(
      "schedule_built", [](const json& line) { return line.value("scheduled_jobs", -1) == 0; }));
}

// GET /v1/agents from the live sessions: what Register and the last Heartbeat said.
TEST_F(ServerTest, OperatorApiListsAgentsFromTheirSessions) {
  start({.with_operator_api = true});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  const auto agents = [&] {
    const HttpReply reply = https_request(port_, ca(), http::verb::get, "/v1/agents", auth);
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return json::parse(reply.body)["agents"];
  };
  EXPECT_EQ(agents()[0].value("state", ""), "never");
  {
    AgentClient agent = client();
    agent.register_agent(kKeyA);
    Envelope heartbeat;
    heartbeat.mutable_heartbeat()->set_config_version(3);
    heartbeat.mutable_heartbeat()->mutable_metrics()->set_queue_depth(4);
    agent.send(heartbeat);
    ASSERT_TRUE(logs_.wait_for("heartbeat"));
    const json a = agents()[0];
    EXPECT_EQ(a.value("agent_id", ""), "agent-a");
    EXPECT_EQ(a.value("state", ""), "connected");
    EXPECT_EQ(a.value("agent_version", ""), "1.2.3");
    EXPECT_EQ(a.value("hostname", ""), "host-1");
    EXPECT_EQ(a.value("config_version_sent", 0), 3);
    EXPECT_EQ(a.value("config_version_acked", 0), 3);
    EXPECT_EQ(a["metrics"].value("queue_depth", 0), 4);
    EXPECT_TRUE(a["last_heartbeat"].is_string());
    EXPECT_TRUE(a["connected_since"].is_string());
    EXPECT_EQ(agents()[1].value("state", ""), "never");
  }
  ASSERT_TRUE(logs_.wait_for("agent_disconnected"));
  const json a = agents()[0];
  EXPECT_EQ(a.value("state", ""), "disconnected");
  EXPECT_TRUE(a["disconnected_at"].is_string());
  // Load balancers probe without a token.
  EXPECT_EQ(https_get(port_, ca(), "/healthz").status, 200u);
}

// GET /metrics over TLS, without a token: the figures follow sessions, messages and runs.
TEST_F(ServerTest, MetricsFollowSessionsMessagesAndRuns) {
  start({.with_operator_api = true});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  const auto scrape = [&] {
    const HttpReply reply = https_get(port_, ca(), "/metrics");
    EXPECT_EQ(reply.status, 200u);
    EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
    return reply.body;
  };
  const auto value = [](const std::string& text, const std::string& series) {
    return testing::metric_sample(text, "backupy_cp_" + series);
  };
  std::string text = scrape();
  EXPECT_EQ(value(text, "build_info{version=\"" + std::string(version()) + "\"}"), 1);
  EXPECT_EQ(value(text, "agents_configured"), 2);
  EXPECT_EQ(value(text, "agents_connected"), 0);
  EXPECT_EQ(value(text, "sessions_opened_total"), 0);

  EXPECT_EQ(https_get(port_, ca(), "/v1/agents/connect", "Bearer " + std::string(64, 'c')).status,
            401u);
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(3);
  agent.send(heartbeat);
  ASSERT_TRUE(logs_.wait_for("heartbeat"));
  const HttpReply accepted =
      https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run", auth);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::string run_id = json::parse(accepted.body).value("run_id", "");
  ASSERT_TRUE(agent.next_of(Envelope::kRunBackup));
  EXPECT_EQ(https_request(port_, ca(), http::verb::get, "/v1/runs/nope", auth).status, 404u);

  text = scrape();
  EXPECT_EQ(value(text, "agents_connected"), 1);
  EXPECT_EQ(value(text, "sessions_opened_total"), 1);
  EXPECT_EQ(value(text, "sessions_rejected_total{reason=\"unknown_key\"}"), 1);
  EXPECT_EQ(value(text, "messages_received_total{type=\"register\"}"), 1);
  EXPECT_EQ(value(text, "messages_received_total{type=\"heartbeat\"}"), 1);
  EXPECT_EQ(value(text, "runs_created_total{trigger=\"manual\"}"), 1);
  EXPECT_EQ(value(text, "runs_active"), 1);
  EXPECT_EQ(value(text, "api_requests_total{status_class=\"2xx\"}"), 1);
  EXPECT_EQ(value(text, "api_requests_total{status_class=\"4xx\"}"), 1);

  Envelope update = job_update(1, backup::v1::FAILED);
  update.mutable_job_update()->set_run_id(run_id);
  agent.send(update);
  ASSERT_TRUE(logs_.wait_for("run_update"));
  write_config({.version = 4, .with_operator_api = true});
  ASSERT_EQ(https_request(port_, ca(), http::verb::post, "/v1/config/reload", auth).status, 200u);
  text = scrape();
  EXPECT_EQ(value(text, "messages_received_total{type=\"job_update\"}"), 1);
  EXPECT_EQ(value(text, "runs_finished_total{status=\"failed\"}"), 1);
  EXPECT_EQ(value(text, "runs_active"), 0);
  EXPECT_EQ(value(text, "config_reloads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(value(text, "api_requests_total{status_class=\"2xx\"}"), 2);
  // Counts only: no agent id, token or key appears.
  EXPECT_EQ(text.find("agent-a"), std::string::npos);
  EXPECT_EQ(text.find(kAdminToken), std::string::npos);
  if (const std::optional<std::string> problems = testing::promtool_problems(text)) {
    EXPECT_EQ(*problems, "");
  }

  EXPECT_EQ(https_request(port_, ca(), http::verb::post, "/metrics", {}).status, 405u);
  expect_no_secrets_logged();
}

// Uploads to the embedded object store count their body bytes.
TEST_F(ServerTest, MetricsCountObjectBytesReceived) {
  start({.with_operator_api = true, .local_storage = true});
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const HttpReply accepted = https_request(port_, ca(), http::verb::post, "/v1/jobs/nightly/run",
                                           {{"Authorization", "Bearer " + kAdminToken}});
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(command);
  const std::string url = command->run_backup().upload_creds().presigned_put_url();
  const std::string origin = "https://127.0.0.1:" + std::to_string(port_);
  ASSERT_TRUE(url.starts_with(origin + "/objects/")) << url;
  const std::string body(100'000, 'x');
  const HttpReply put = https_request(port_, ca(), http::verb::put, url.substr(origin.size()),
                                      {{"Content-Type", "application/octet-stream"}}, body);
  ASSERT_EQ(put.status, 200u) << put.body;
  const std::string text = https_get(port_, ca(), "/metrics").body;
  EXPECT_EQ(testing::metric_sample(text, "backupy_cp_object_bytes_received_total"), 100'000);
}

// POST /v1/config/reload goes the way SIGHUP goes; a bad file keeps the old configuration.
TEST_F(ServerTest, OperatorApiReloadsTheConfiguration) {
  start({.with_operator_api = true});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  write_config({.version = 4, .with_operator_api = true});
  HttpReply reply = https_request(port_, ca(), http::verb::post, "/v1/config/reload", auth);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(json::parse(reply.body),
            json::parse(R"({"reloaded":true,"agents":2,"config_updates_sent":1})"));
  const std::optional<Envelope> update = agent.next_of(Envelope::kConfigUpdate);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->config_update().config().version(), 4u);

  const std::string good = testing::read_text(config_file());
  write_text(config_file(), good + "bogus_key: 1\n");
  reply = https_request(port_, ca(), http::verb::post, "/v1/config/reload", auth);
  EXPECT_EQ(reply.status, 400u);
  const std::string error = json::parse(reply.body).value("error", "");
  EXPECT_TRUE(error.starts_with("reload failed: " + config_file().string() + ":")) << error;
  EXPECT_NE(error.find("bogus_key is not a known key"), std::string::npos) << error;
  // Still the version-4 configuration, and the admin token still works.
  AgentClient later = client();
  EXPECT_EQ(later.register_agent(kKeyA).register_ack().config().version(), 4u);
  EXPECT_EQ(https_request(port_, ca(), http::verb::get, "/v1/agents", auth).status, 200u);
}

TEST_F(ServerTest, ConnectWithoutKeyIs401) {
  start();
  HttpReply reply = https_get(port_, ca(), "/v1/agents/connect");
  EXPECT_EQ(reply.status, 401u);
  EXPECT_EQ(reply.body, R"({"error":"unauthorized"})");
  const std::optional<json> failed = logs_.wait_for("auth_failed");
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["reason"], "missing authorization header");
  EXPECT_EQ((*failed)["level"], "warn");
  EXPECT_TRUE((*failed)["remote"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_EQ(https_get(port_, ca(), "/v1/agents/connect", "Basic YWJjOmRlZg==").status, 401u);
}

TEST_F(ServerTest, ConnectWithWrongKeyIs401AndTheKeyIsNotLogged) {
  start();
  const std::string wrong = "bkpy_live_0123456789abcdefghijABCDEFGHIJ01";
  HttpReply reply = https_get(port_, ca(), "/v1/agents/connect", "Bearer " + wrong);
  EXPECT_EQ(reply.status, 401u);
  EXPECT_EQ(reply.body, R"({"error":"unauthorized"})");
  AgentClient agent = client();
  EXPECT_EQ(agent.connect(wrong), 0u);
  const std::optional<json> failed = logs_.wait_for("auth_failed");
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["reason"], "unknown agent key");
  EXPECT_EQ(logs_.all().find(wrong), std::string::npos);
  EXPECT_EQ(logs_.all().find("0123456789abcdefghij"), std::string::npos);
}

TEST_F(ServerTest, ConnectWithoutUpgradeIs426) {
  start();
  EXPECT_EQ(https_get(port_, ca(), "/v1/agents/connect", "Bearer " + kKeyA).status, 426u);
}

TEST_F(ServerTest, OversizedRequestHeadersAre431) {
  start();
  HttpReply reply = https_get(port_, ca(), "/healthz", "Bearer " + std::string(20'000, 'x'));
  EXPECT_EQ(reply.status, 431u);
  EXPECT_TRUE(logs_.wait_for("http_request_too_large"));
}

TEST_F(ServerTest, SilentClientsAreDisconnected) {
  ServerOptions options;
  options.handshake_timeout = 200ms;
  start({}, options);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  // Say nothing: the server must give up on the TLS handshake and close.
  const auto before = std::chrono::steady_clock::now();
  char byte;
  error_code ec;
  socket.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
}

// -------------------------------------------------------------------- protocol --

TEST_F(ServerTest, RegisterGetsRegisterAckWithConfigAndCapabilities) {
  start();
  AgentClient agent = client();
  const std::uint64_t before = core::now_ms();
  const Envelope reply = agent.register_agent(kKeyA);
  EXPECT_EQ(reply.seq(), 1u);
  EXPECT_GE(reply.ts_ms() + 1000, before);
  EXPECT_EQ(reply.correlation_id(), "reg-1");
  const backup::v1::RegisterAck& ack = reply.register_ack();
  EXPECT_TRUE(std::regex_match(ack.session_id(), std::regex("[0-9a-f]{32}"))) << ack.session_id();
  EXPECT_EQ(ack.config().version(), 3u);
  ASSERT_EQ(ack.config().targets_size(), 1);
  EXPECT_EQ(ack.config().targets(0).type(), backup::v1::POSTGRESQL);
  EXPECT_EQ(ack.config().targets(0).connection().password_secret_ref(), kPassword);
  EXPECT_EQ(ack.config().jobs(0).cron(), "0 3 * * *");
  EXPECT_EQ(ack.heartbeat_interval_sec(), 15u);
  EXPECT_TRUE(std::regex_match(ack.server_time_iso(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")))
      << ack.server_time_iso();
  ASSERT_EQ(ack.server_capabilities_size(), 1);
  EXPECT_EQ(ack.server_capabilities(0), "delivery_ack.v1");

  const std::optional<json> connected = logs_.wait_for("agent_connected");
  ASSERT_TRUE(connected);
  EXPECT_EQ((*connected)["agent_id"], "agent-a");
  EXPECT_EQ((*connected)["session_id"], ack.session_id());
  EXPECT_TRUE((*connected)["remote"].get<std::string>().starts_with("127.0.0.1:"));
  const std::optional<json> reg = logs_.wait_for("register");
  ASSERT_TRUE(reg);
  EXPECT_EQ((*reg)["agent_id"], "agent-a");
  EXPECT_EQ((*reg)["agent_version"], "1.2.3");
  EXPECT_EQ((*reg)["hostname"], "host-1");
  EXPECT_EQ((*reg)["os"], "linux");
  EXPECT_EQ((*reg)["arch"], "amd64");
  EXPECT_EQ((*reg)["capabilities"], "pg_dump,delivery_ack.v1");
  EXPECT_EQ((*reg)["last_known_config_version"], 2);
  EXPECT_EQ((*reg)["delivery_ack"], true);
  expect_no_secrets_logged();
}

TEST_F(ServerTest, HeartbeatAndAckAreLogged) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(3);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_cpu_percent(12.5f);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_mem_used_bytes(100);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_mem_total_bytes(200);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_disk_used_bytes(300);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_disk_total_bytes(400);
  heartbeat.mutable_heartbeat()->mutable_metrics()->set_queue_depth(2);
  heartbeat.mutable_heartbeat()->add_active_job_ids("j1");
  heartbeat.mutable_heartbeat()->add_active_job_ids("j2");
  agent.send(heartbeat);
  Envelope ack;
  ack.mutable_ack()->set_correlation_id("cfg-x");
  ack.mutable_ack()->set_accepted(false);
  ack.mutable_ack()->set_reason("bad cron");
  agent.send(ack);

  const std::optional<json> hb = logs_.wait_for("heartbeat");
  ASSERT_TRUE(hb);
  EXPECT_EQ((*hb)["agent_id"], "agent-a");
  EXPECT_EQ((*hb)["config_version"], 3);
  EXPECT_DOUBLE_EQ((*hb)["cpu_percent"].get<double>(), 12.5);
  EXPECT_EQ((*hb)["mem_used_bytes"], 100);
  EXPECT_EQ((*hb)["mem_total_bytes"], 200);
  EXPECT_EQ((*hb)["disk_used_bytes"], 300);
  EXPECT_EQ((*hb)["disk_total_bytes"], 400);
  EXPECT_EQ((*hb)["queue_depth"], 2);
  EXPECT_EQ((*hb)["active_job_ids"], "j1,j2");
  const std::optional<json> logged = logs_.wait_for("ack");
  ASSERT_TRUE(logged);
  EXPECT_EQ((*logged)["correlation_id"], "cfg-x");
  EXPECT_EQ((*logged)["accepted"], false);
  EXPECT_EQ((*logged)["reason"], "bad cron");
}

TEST_F(ServerTest, FirstMessageMustBeRegister) {
  start();
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(1);
  agent.send(heartbeat);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_TRUE(logs_.wait_for("protocol_violation"));
}

TEST_F(ServerTest, RegisterMustArriveInTime) {
  ServerOptions options;
  options.register_timeout = 200ms;
  start({}, options);
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_TRUE(logs_.wait_for("register_timeout"));
  const std::optional<json> gone = logs_.wait_for("agent_disconnected");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["reason"], "Register not received in time");
}

TEST_F(ServerTest, TextAndMalformedFramesAreIgnored) {
  start();
  AgentClient agent = client();
  ASSERT_EQ(agent.connect(kKeyA), 101u);
  agent.send_raw("hello", false);
  agent.send_raw(std::string("\xff\xff\xff\xff", 4), true);
  Envelope envelope;
  envelope.mutable_register_()->set_agent_version("1");
  agent.send(envelope);
  std::optional<Envelope> ack = agent.next(3s);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->has_register_ack());
  EXPECT_TRUE(logs_.wait_for("text_frame_ignored"));
  EXPECT_TRUE(logs_.wait_for("malformed_envelope"));
}

TEST_F(ServerTest, ParsedButUnusablePayloadsAreReportedAndStillCounted) {
  // Unlike garbage, an envelope without a payload or with a server-only one is reported by
  // payload name, and its outbox_seq is still acknowledged.
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope empty;
  empty.set_outbox_seq(1);
  agent.send(empty);
  Envelope server_only;
  server_only.set_outbox_seq(2);
  server_only.mutable_ping()->set_ts_ms(1);
  agent.send(server_only);
  const std::vector<std::uint64_t> acks = agent.acks_until(2);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), 2u);
  EXPECT_TRUE(
      logs_.wait_for("unexpected_message", [](const json& j) { return j["payload"] == "none"; }));
  EXPECT_TRUE(
      logs_.wait_for("unexpected_message", [](const json& j) { return j["payload"] == "ping"; }));
  EXPECT_TRUE(logs_.events("malformed_envelope").empty());
}

TEST_F(ServerTest, OversizedFrameEndsTheSession) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  agent.send_raw(std::string(kMinMessageBytes + 1, 'x'), true);
  ASSERT_TRUE(agent.wait_closed(5s));
  EXPECT_EQ(agent.close_reason().code, 1009);  // message too big
  EXPECT_TRUE(logs_.wait_for("agent_disconnected"));
}

TEST_F(ServerTest, AcceptsMessagesOfFourMebibytes) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope big = job_update(1);
  big.mutable_job_update()->set_current_step(std::string(kMinMessageBytes - 100, 's'));
  ASSERT_LE(big.ByteSizeLong(), kMinMessageBytes);
  agent.send(big);
  EXPECT_EQ(agent.acks_until(1), std::vector<std::uint64_t>{1});
}

// ---------------------------------------------------------------- delivery ack --

TEST_F(ServerTest, OutboxEntriesAreLoggedAndAckedCumulatively) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    agent.send(job_update(seq, seq == 5 ? backup::v1::FAILED : backup::v1::RUNNING));
  }
  const std::vector<std::uint64_t> acks = agent.acks_until(5);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), 5u);
  EXPECT_TRUE(std::is_sorted(acks.begin(), acks.end()));

  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 5; }));
  const std::vector<json> results = logs_.events("result");
  ASSERT_EQ(results.size(), 5u);
  const json& last = results.back();
  EXPECT_EQ(last["agent_id"], "agent-a");
  EXPECT_EQ(last["type"], "job_update");
  EXPECT_EQ(last["job_id"], "nightly");
  EXPECT_EQ(last["run_id"], "run-5");
  EXPECT_EQ(last["status"], "FAILED");
  EXPECT_EQ(last["error_message"], "disk full");
  const std::optional<json> sent =
      logs_.wait_for("delivery_ack_sent", [](const json& j) { return j["through"] == 5; });
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["agent_id"], "agent-a");
}

TEST_F(ServerTest, LongReplayIsAckedSteadily) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  constexpr std::uint64_t kEntries = 1000;
  for (std::uint64_t seq = 1; seq <= kEntries; ++seq) agent.send(job_update(seq));
  const std::vector<std::uint64_t> acks = agent.acks_until(kEntries, 10s);
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back(), kEntries);
  EXPECT_GE(acks.size(), kEntries / AckCoalescer::kMaxBatch);  // at least one per 100 entries
  EXPECT_LE(acks.size(), kEntries / 2);                        // and clearly coalesced
  EXPECT_TRUE(std::is_sorted(acks.begin(), acks.end()));
}

TEST_F(ServerTest, DuplicatesAreLoggedOnceAndAckedAgain) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) agent.send(job_update(seq));
  ASSERT_EQ(agent.acks_until(3).back(), 3u);
  agent.send(job_update(2));
  agent.send(job_update(3));
  EXPECT_EQ(agent.acks_until(3).back(), 3u);  // re-acked so the agent can drop them
  ASSERT_TRUE(logs_.wait_for("duplicate", [](const json& j) { return j["outbox_seq"] == 3; }));
  const std::vector<json> duplicates = logs_.events("duplicate");
  ASSERT_EQ(duplicates.size(), 2u);
  EXPECT_EQ(duplicates[0]["agent_id"], "agent-a");
  EXPECT_EQ(duplicates[0]["outbox_seq"], 2);
  EXPECT_EQ(logs_.events("result").size(), 3u);
}

TEST_F(ServerTest, DeduplicationSpansSessions) {
  start();
  {
    AgentClient first = client();
    first.register_agent(kKeyA);
    for (std::uint64_t seq = 1; seq <= 3; ++seq) first.send(job_update(seq));
    ASSERT_EQ(first.acks_until(3).back(), 3u);
  }
  AgentClient second = client();
  second.register_agent(kKeyA);
  for (std::uint64_t seq = 2; seq <= 4; ++seq) second.send(job_update(seq));
  EXPECT_EQ(second.acks_until(4).back(), 4u);
  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 4; }));
  EXPECT_EQ(logs_.events("duplicate").size(), 2u);
  EXPECT_EQ(logs_.events("result").size(), 4u);
}

TEST_F(ServerTest, GapStillAcksTheHighestReceived) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  agent.send(job_update(1));
  agent.send(job_update(2));
  agent.send(job_update(5));
  EXPECT_EQ(agent.acks_until(5).back(), 5u);
  const std::optional<json> gap = logs_.wait_for("outbox_gap");
  ASSERT_TRUE(gap);
  EXPECT_EQ((*gap)["missing_first"], 3);
  EXPECT_EQ((*gap)["missing_last"], 4);
}

TEST_F(ServerTest, OtherResultTypesAreLoggedWithTheirFields) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Envelope done;
  done.set_outbox_seq(1);
  backup::v1::BackupCompleted* completed = done.mutable_backup_completed();
  completed->set_job_id("nightly");
  completed->set_run_id("r1");
  completed->set_s3_key("k/1");
  completed->set_size_bytes(1234);
  completed->set_sha256("ab");
  completed->set_encrypted_dek(std::string(32, '\x01'));
  agent.send(done);
  Envelope check;
  check.set_outbox_seq(2);
  check.mutable_health_check_result()->set_check_id("web");
  check.mutable_health_check_result()->set_ok(true);
  check.mutable_health_check_result()->set_status_code(200);
  agent.send(check);
  Envelope log_event;
  log_event.set_outbox_seq(3);
  log_event.mutable_log_event()->set_level(backup::v1::WARN);
  log_event.mutable_log_event()->set_message("slow");
  agent.send(log_event);
  ASSERT_EQ(agent.acks_until(3).back(), 3u);
  ASSERT_TRUE(logs_.wait_for("result", [](const json& j) { return j["outbox_seq"] == 3; }));
  const std::vector<json> results = logs_.events("result");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["type"], "backup_completed");
  EXPECT_EQ(results[0]["run_id"], "r1");
  EXPECT_EQ(results[0]["size_bytes"], 1234);
  EXPECT_EQ(results[0]["s3_key"], "k/1");
  EXPECT_EQ(results[1]["type"], "health_check_result");
  EXPECT_EQ(results[1]["check_id"], "web");
  EXPECT_EQ(results[1]["ok"], true);
  EXPECT_EQ(results[2]["type"], "log_event");
  EXPECT_EQ(results[2]["log_level"], "WARN");
  EXPECT_EQ(results[2]["message"], "slow");
}

TEST_F(ServerTest, AgentWithoutTheCapabilityGetsNoDeliveryAck) {
  start();
  AgentClient agent = client();
  const Envelope reply = agent.register_agent(kKeyA, {"pg_dump"});
  EXPECT_EQ(reply.register_ack().server_capabilities_size(), 1);
  agent.send(job_update(1));
  ASSERT_TRUE(logs_.wait_for("result"));
  EXPECT_FALSE(agent.next(300ms));
  EXPECT_FALSE(agent.closed());
}

TEST_F(ServerTest, DeliveryAckOffBehavesLikeAV1Server) {
  Knobs knobs;
  knobs.delivery_ack = false;
  start(knobs);
  AgentClient agent = client();
  const Envelope reply = agent.register_agent(kKeyA);
  EXPECT_EQ(reply.register_ack().server_capabilities_size(), 0);
  agent.send(job_update(1));
  agent.send(job_update(1));
  ASSERT_TRUE(logs_.wait_for("duplicate"));
  EXPECT_FALSE(agent.next(300ms));
  EXPECT_TRUE(logs_.events("delivery_ack_sent").empty());
}

// -------------------------------------------------------------- session control --

TEST_F(ServerTest, NewSessionReplacesTheOldOne) {
  start();
  AgentClient first = client();
  const std::string first_session = first.register_agent(kKeyA).register_ack().session_id();
  AgentClient second = client();
  const std::string second_session = second.register_agent(kKeyA).register_ack().session_id();
  EXPECT_NE(first_session, second_session);
  ASSERT_TRUE(first.wait_closed(3s));
  EXPECT_EQ(first.close_reason().code, 1000);
  EXPECT_EQ(std::string(first.close_reason().reason.c_str()), "replaced by a newer session");
  const std::optional<json> gone = logs_.wait_for("agent_disconnected");
  ASSERT_TRUE(gone);
  EXPECT_EQ((*gone)["session_id"], first_session);
  EXPECT_EQ((*gone)["reason"], "replaced by a newer session");
  second.send(job_update(1));
  EXPECT_EQ(second.acks_until(1).back(), 1u);
}

TEST_F(ServerTest, TwoAgentsAreIndependent) {
  start();
  AgentClient a = client();
  a.register_agent(kKeyA);
  AgentClient b = client();
  const Envelope reply = b.register_agent(kKeyB);
  EXPECT_EQ(reply.register_ack().config().version(), 0u);
  a.send(job_update(7));
  b.send(job_update(7));
  EXPECT_EQ(a.acks_until(7).back(), 7u);
  EXPECT_EQ(b.acks_until(7).back(), 7u);
  EXPECT_TRUE(logs_.events("duplicate").empty());
}

TEST_F(ServerTest, PingArrivesAndItsAckIsLogged) {
  Knobs knobs;
  knobs.ping_interval_sec = 1;
  start(knobs);
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  std::optional<Envelope> ping = agent.next_of(Envelope::kPing, 3s);
  ASSERT_TRUE(ping);
  EXPECT_FALSE(ping->correlation_id().empty());
  EXPECT_GT(ping->ping().ts_ms(), 0u);
  EXPECT_GT(ping->seq(), 1u);
  Envelope ack;
  ack.set_correlation_id(ping->correlation_id());
  ack.mutable_ack()->set_correlation_id(ping->correlation_id());
  ack.mutable_ack()->set_accepted(true);
  agent.send(ack);
  const std::string id = ping->correlation_id();
  EXPECT_TRUE(
      logs_.wait_for("ping_sent", [&](const json& j) { return j["correlation_id"] == id; }));
  const std::optional<json> logged =
      logs_.wait_for("ack", [&](const json& j) { return j["correlation_id"] == id; });
  ASSERT_TRUE(logged);
  EXPECT_EQ((*logged)["accepted"], true);
  std::optional<Envelope> second = agent.next_of(Envelope::kPing, 3s);
  ASSERT_TRUE(second);
  EXPECT_NE(second->correlation_id(), id);
}

TEST_F(ServerTest, ReloadPushesChangedConfigs) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);

  ReloadResult unchanged = server_->reload();
  EXPECT_TRUE(unchanged.ok) << unchanged.error;
  EXPECT_EQ(unchanged.config_updates_sent, 0u);

  Knobs knobs;
  knobs.version = 4;
  write_config(knobs);
  ReloadResult result = server_->reload();
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.agents, 2u);
  EXPECT_EQ(result.config_updates_sent, 1u);
  std::optional<Envelope> update = agent.next_of(Envelope::kConfigUpdate);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->config_update().config().version(), 4u);
  EXPECT_EQ(update->config_update().config().targets(0).connection().password_secret_ref(),
            kPassword);
  EXPECT_FALSE(update->correlation_id().empty());
  Envelope ack;
  ack.mutable_ack()->set_correlation_id(update->correlation_id());
  ack.mutable_ack()->set_accepted(true);
  agent.send(ack);

  const std::optional<json> sent = logs_.wait_for("config_update_sent");
  ASSERT_TRUE(sent);
  EXPECT_EQ((*sent)["agent_id"], "agent-a");
  EXPECT_EQ((*sent)["version"], 4);
  EXPECT_EQ((*sent)["correlation_id"], update->correlation_id());
  const std::string id = update->correlation_id();
  EXPECT_TRUE(logs_.wait_for("ack", [&](const json& j) { return j["correlation_id"] == id; }));
  const std::vector<json> reloaded = logs_.events("config_reloaded");
  ASSERT_EQ(reloaded.size(), 2u);
  EXPECT_EQ(reloaded[1]["agents"], 2);

  // A new session gets the new configuration in its RegisterAck.
  AgentClient later = client();
  EXPECT_EQ(later.register_agent(kKeyA).register_ack().config().version(), 4u);
  expect_no_secrets_logged();
}

TEST_F(ServerTest, FailedReloadKeepsTheOldConfig) {
  start();
  write_text(config_file(),
             "listen: \"127.0.0.1:0\"\ntls: {cert_file: server.crt,"
             " key_file: server.key}\nagentz: []\n");
  const ReloadResult result = server_->reload();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, config_file().string() +
                              ":3: agentz is not a known key (expected one of: listen, tls, "
                              "heartbeat_interval_sec, ping_interval_sec, idle_timeout_sec, "
                              "max_message_bytes, delivery_ack, agents, admin, storage, "
                              "token_signing_key_file, scheduling, catalog_file, "
                              "master_key_file)");
  const std::optional<json> failed = logs_.wait_for("config_reload_failed");
  ASSERT_TRUE(failed);
  EXPECT_EQ((*failed)["error"], result.error);
  AgentClient agent = client();
  EXPECT_EQ(agent.register_agent(kKeyA).register_ack().config().version(), 3u);
}

TEST_F(ServerTest, ReloadRemovingAnAgentEndsItsSession) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  Knobs knobs;
  knobs.with_agent_a = false;
  write_config(knobs);
  ASSERT_TRUE(server_->reload().ok);
  ASSERT_TRUE(agent.wait_closed(3s));
  EXPECT_EQ(agent.close_reason().code, 1008);
  EXPECT_EQ(https_get(port_, ca(), "/v1/agents/connect", "Bearer " + kKeyA).status, 401u);
}

TEST_F(ServerTest, StopClosesSessionsWithGoingAway) {
  start();
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const auto before = std::chrono::steady_clock::now();
  server_->stop();
  ASSERT_TRUE(agent.wait_closed(5s));
  EXPECT_EQ(agent.close_reason().code, 1001);
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  server_.reset();
  EXPECT_TRUE(logs_.wait_for("stopped"));
}

}  // namespace
}  // namespace backupy::controlplane

namespace backupy::controlplane {
namespace {

// ------------------------------------------------------------ agent_cron.v1 --

std::vector<std::string> capabilities_of(const backup::v1::RegisterAck& ack) {
  return {ack.server_capabilities().begin(), ack.server_capabilities().end()};
}

Envelope upload_creds_request(std::uint64_t outbox_seq, const std::string& run_id,
                              const std::string& kms_id, const crypto::Bytes& wrapped) {
  Envelope envelope;
  envelope.set_outbox_seq(outbox_seq);
  backup::v1::UploadCredsRequest* request = envelope.mutable_upload_creds_request();
  request->set_job_id("nightly");
  request->set_run_id(run_id);
  request->set_scheduled_for_ms(1'790'000'000'000);
  request->set_catch_up(true);
  request->set_dek_kms_id(kms_id);
  request->set_encrypted_dek(wrapped.data(), wrapped.size());
  return envelope;
}

// The whole agent_cron.v1 exchange with a fake agent over the real listener: capability,
// published key, UploadCredsRequest with the agent's own wrapped DEK → RunBackup with
// credentials and no key → upload → BackupCompleted → success after the object check → a
// decryption token with the agent's DEK. The server's own cron (every second) never fires for
// the agent meanwhile.
TEST_F(ServerTest, AgentCronAgentsScheduleThemselvesAndTheirRunsAreAdopted) {
  start({.with_operator_api = true, .local_storage = true, .cron = "* * * * * *"});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  AgentClient agent = client();
  const Envelope reply =
      agent.register_agent(kKeyA, {"pg_dump", "delivery_ack.v1", std::string(wire::kCapAgentCron)});
  const backup::v1::RegisterAck& ack = reply.register_ack();
  EXPECT_EQ(capabilities_of(ack),
            (std::vector<std::string>{"delivery_ack.v1", std::string(wire::kCapAgentCron)}));
  ASSERT_TRUE(ack.config().has_key_wrapping());
  const std::string key_id = ack.config().key_wrapping().key_id();
  EXPECT_TRUE(std::regex_match(key_id, std::regex("x25519-[0-9a-f]{16}"))) << key_id;
  ASSERT_EQ(ack.config().key_wrapping().x25519_public_key().size(), 32u);
  std::array<std::uint8_t, 32> server_public{};
  std::copy(ack.config().key_wrapping().x25519_public_key().begin(),
            ack.config().key_wrapping().x25519_public_key().end(), server_public.begin());
  ASSERT_TRUE(
      logs_.wait_for("register", [](const json& l) { return l.value("agent_cron", false); }));

  // The agent's own run, DEK and wrap.
  std::array<std::uint8_t, 32> dek{};
  const crypto::Bytes random = crypto::random_bytes(32);
  std::copy(random.begin(), random.end(), dek.begin());
  const crypto::Bytes wrapped = crypto::wrap_dek(dek, server_public, key_id);
  const std::string run_id = "arun-0123456789abcdef";
  agent.send(upload_creds_request(1, run_id, key_id, wrapped));
  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(command);
  EXPECT_EQ(command->run_backup().run_id(), run_id);
  EXPECT_EQ(command->run_backup().job_id(), "nightly");
  EXPECT_FALSE(command->run_backup().manual_trigger());
  EXPECT_TRUE(command->run_backup().encrypted_dek().empty()) << "the raw DEK never travels";
  EXPECT_EQ(command->run_backup().upload_creds().final_s3_key(),
            "agents/agent-a/nightly/" + run_id + ".bkpy");
  // The request came from the agent's outbox: it is acknowledged like every result.
  const std::vector<std::uint64_t> acked = agent.acks_until(1);
  ASSERT_FALSE(acked.empty());
  EXPECT_EQ(acked.back(), 1u);
  const std::optional<json> adopted = logs_.wait_for("run_adopted");
  ASSERT_TRUE(adopted);
  EXPECT_EQ(adopted->value("source", ""), "upload_creds_request");

  // Asking again (the agent parked the run) gets fresh credentials for the same run.
  agent.send(upload_creds_request(2, run_id, key_id, wrapped));
  const std::optional<Envelope> again = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->run_backup().run_id(), run_id);

  const std::string url = again->run_backup().upload_creds().presigned_put_url();
  const std::string origin = "https://127.0.0.1:" + std::to_string(port_);
  ASSERT_TRUE(url.starts_with(origin + "/objects/")) << url;
  const std::string body(4096, 'z');
  ASSERT_EQ(https_request(port_, ca(), http::verb::put, url.substr(origin.size()),
                          {{"Content-Type", "application/octet-stream"}}, body)
                .status,
            200u);
  Envelope done;
  done.set_outbox_seq(3);
  backup::v1::BackupCompleted* completed = done.mutable_backup_completed();
  completed->set_job_id("nightly");
  completed->set_run_id(run_id);
  completed->set_s3_key(command->run_backup().upload_creds().final_s3_key());
  completed->set_size_bytes(body.size());
  completed->set_sha256(crypto::sha256_hex(crypto::as_bytes(body)));
  completed->set_dek_kms_id(key_id);
  completed->set_encrypted_dek(wrapped.data(), wrapped.size());
  agent.send(done);

  json run;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const HttpReply view = https_request(port_, ca(), http::verb::get, "/v1/runs/" + run_id, auth);
    ASSERT_EQ(view.status, 200u) << view.body;
    run = json::parse(view.body);
    if (run.value("status", "") != "running" && run.value("status", "") != "queued") break;
    std::this_thread::sleep_for(50ms);  // polling the API with a deadline
  }
  EXPECT_EQ(run.value("status", ""), "success") << run.dump();
  EXPECT_EQ(run.value("trigger", ""), "agent");
  EXPECT_EQ(run.value("catch_up", false), true);
  EXPECT_EQ(run.value("scheduled_for", ""), core::iso8601_utc(1'790'000'000'000));

  const HttpReply issued = https_request(port_, ca(), http::verb::post,
                                         "/v1/runs/" + run_id + "/decryption-token", auth);
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const auto parsed = token::parse_decrypt_token(json::parse(issued.body).value("token", ""),
                                                 std::chrono::system_clock::now());
  const auto* decoded = std::get_if<token::DecryptToken>(&parsed);
  ASSERT_NE(decoded, nullptr) << std::get<token::TokenError>(parsed).message;
  EXPECT_TRUE(std::equal(dek.begin(), dek.end(), decoded->dek.bytes().begin()));
  EXPECT_EQ(
      https_request(port_, ca(), http::verb::get, "/v1/runs/" + run_id + "/download-url", auth)
          .status,
      200u);

  // A finished run is not answered; the server's cron left the job to the agent all along.
  agent.send(upload_creds_request(4, run_id, key_id, wrapped));
  ASSERT_TRUE(logs_.wait_for("upload_creds_ignored"));
  EXPECT_TRUE(logs_.wait_for("run_left_to_agent"));
  EXPECT_TRUE(logs_.events("run_scheduled").empty());
  EXPECT_FALSE(agent.next_of(Envelope::kRunBackup, 300ms));
  const std::string all = logs_.all();
  EXPECT_EQ(all.find(core::to_hex(dek)), std::string::npos);
  expect_no_secrets_logged();
}

// A DEK wrapped to another key id adopts the run but fails it with the reason; no credentials.
// A run id that belongs to another agent is refused.
TEST_F(ServerTest, UnusableWrappedKeysFailTheAdoptedRun) {
  start({.with_operator_api = true, .local_storage = true});
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + kAdminToken}};
  AgentClient agent = client();
  const Envelope reply =
      agent.register_agent(kKeyA, {"delivery_ack.v1", std::string(wire::kCapAgentCron)});
  std::array<std::uint8_t, 32> server_public{};
  const std::string& raw = reply.register_ack().config().key_wrapping().x25519_public_key();
  ASSERT_EQ(raw.size(), 32u);
  std::copy(raw.begin(), raw.end(), server_public.begin());
  std::array<std::uint8_t, 32> dek{};
  dek.fill(7);
  const crypto::Bytes wrapped = crypto::wrap_dek(dek, server_public, "x25519-0000000000000000");
  agent.send(upload_creds_request(1, "arun-1", "x25519-0000000000000000", wrapped));
  const std::optional<json> failed = logs_.wait_for("agent_run_failed");
  ASSERT_TRUE(failed);
  const HttpReply view = https_request(port_, ca(), http::verb::get, "/v1/runs/arun-1", auth);
  ASSERT_EQ(view.status, 200u);
  const json run = json::parse(view.body);
  EXPECT_EQ(run.value("status", ""), "failed");
  EXPECT_EQ(run.value("trigger", ""), "agent");
  EXPECT_NE(
      run.value("error", "").find("wrapped the data key to key id \"x25519-0000000000000000\""),
      std::string::npos)
      << run.dump();
  EXPECT_EQ(
      https_request(port_, ca(), http::verb::post, "/v1/runs/arun-1/decryption-token", auth).status,
      409u);
  EXPECT_FALSE(agent.next_of(Envelope::kRunBackup, 300ms));

  // agent-b asking for agent-a's run id is refused.
  AgentClient other = client();
  other.register_agent(kKeyB, {std::string(wire::kCapAgentCron)});
  other.send(upload_creds_request(1, "arun-1", "x25519-0000000000000000", wrapped));
  const std::optional<json> refused = logs_.wait_for("agent_run_refused");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->value("reason", ""), "run id arun-1 belongs to another agent");
}

// An agent without agent_cron.v1 (or with scheduling.agent_cron off) stays in v1 mode: no
// capability in RegisterAck, and the server's cron sends it scheduled RunBackups.
TEST_F(ServerTest, AgentsWithoutTheCapabilityAreScheduledByTheServer) {
  start({.with_operator_api = true, .cron = "* * * * * *"});
  AgentClient agent = client();
  const Envelope reply = agent.register_agent(kKeyA);
  EXPECT_EQ(capabilities_of(reply.register_ack()), (std::vector<std::string>{"delivery_ack.v1"}));
  EXPECT_TRUE(reply.register_ack().config().has_key_wrapping());
  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup, 5s);
  ASSERT_TRUE(command);
  EXPECT_FALSE(command->run_backup().manual_trigger());
  EXPECT_EQ(command->run_backup().encrypted_dek().size(), 32u);
}

}  // namespace
}  // namespace backupy::controlplane
