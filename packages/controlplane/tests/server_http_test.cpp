// The server over HTTPS: routing, the operator API, /metrics, refused connections.
#include <boost/asio/ip/tcp.hpp>

#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

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
  EXPECT_EQ(https_request(port_, ca(), "POST", "/v1/jobs/nightly/run", {}).status, 401u);
  // The agent is offline: the run waits for it and goes out when it registers.
  const HttpReply offline = https_request(port_, ca(), "POST", "/v1/jobs/nightly/run", auth);
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
  const HttpReply accepted = https_request(port_, ca(), "POST", "/v1/jobs/nightly/run", with_key);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::string run_id = json::parse(accepted.body).value("run_id", "");
  const HttpReply replayed = https_request(port_, ca(), "POST", "/v1/jobs/nightly/run", with_key);
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
  const HttpReply view = https_request(port_, ca(), "GET", "/v1/runs/" + run_id, auth);
  ASSERT_EQ(view.status, 200u);
  const json run = json::parse(view.body);
  EXPECT_EQ(run.value("status", ""), "failed");
  EXPECT_EQ(run.value("error", ""), "disk full");
  EXPECT_EQ(run.value("updates", 0), 1);

  EXPECT_EQ(https_request(port_, ca(), "POST", "/v1/jobs/nightly/cancel", auth).status, 202u);
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
    const HttpReply reply = https_request(port_, ca(), "GET", "/v1/agents", auth);
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
  const HttpReply accepted = https_request(port_, ca(), "POST", "/v1/jobs/nightly/run", auth);
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::string run_id = json::parse(accepted.body).value("run_id", "");
  ASSERT_TRUE(agent.next_of(Envelope::kRunBackup));
  EXPECT_EQ(https_request(port_, ca(), "GET", "/v1/runs/nope", auth).status, 404u);

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
  ASSERT_EQ(https_request(port_, ca(), "POST", "/v1/config/reload", auth).status, 200u);
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

  EXPECT_EQ(https_request(port_, ca(), "POST", "/metrics", {}).status, 405u);
  expect_no_secrets_logged();
}

// Uploads to the embedded object store count their body bytes.
TEST_F(ServerTest, MetricsCountObjectBytesReceived) {
  start({.with_operator_api = true, .local_storage = true});
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const HttpReply accepted = https_request(port_, ca(), "POST", "/v1/jobs/nightly/run",
                                           {{"Authorization", "Bearer " + kAdminToken}});
  ASSERT_EQ(accepted.status, 202u) << accepted.body;
  const std::optional<Envelope> command = agent.next_of(Envelope::kRunBackup);
  ASSERT_TRUE(command);
  const std::string url = command->run_backup().upload_creds().presigned_put_url();
  const std::string origin = "https://127.0.0.1:" + std::to_string(port_);
  ASSERT_TRUE(url.starts_with(origin + "/objects/")) << url;
  const std::string body(100'000, 'x');
  const HttpReply put = https_request(port_, ca(), "PUT", url.substr(origin.size()),
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
  HttpReply reply = https_request(port_, ca(), "POST", "/v1/config/reload", auth);
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(json::parse(reply.body),
            json::parse(R"({"reloaded":true,"agents":2,"config_updates_sent":1})"));
  const std::optional<Envelope> update = agent.next_of(Envelope::kConfigUpdate);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->config_update().config().version(), 4u);

  const std::string good = testing::read_text(config_file());
  write_text(config_file(), good + "bogus_key: 1\n");
  reply = https_request(port_, ca(), "POST", "/v1/config/reload", auth);
  EXPECT_EQ(reply.status, 400u);
  const std::string error = json::parse(reply.body).value("error", "");
  EXPECT_TRUE(error.starts_with("reload failed: " + config_file().string() + ":")) << error;
  EXPECT_NE(error.find("bogus_key is not a known key"), std::string::npos) << error;
  // Still the version-4 configuration, and the admin token still works.
  AgentClient later = client();
  EXPECT_EQ(later.register_agent(kKeyA).register_ack().config().version(), 4u);
  EXPECT_EQ(https_request(port_, ca(), "GET", "/v1/agents", auth).status, 200u);
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

}  // namespace
}  // namespace backupy::controlplane
