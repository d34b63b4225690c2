// agent_cron.v1 over the real listener: agents that schedule themselves, adopted runs, keys.
#include <regex>

#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;

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
  start({.with_operator_api = true, .local_storage = true});  // nightly at 03:00: no fire now
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
  // Only now a schedule that fires every second: the server knows the agent schedules itself
  // before its cron ever fires (however slowly this test starts, e.g. under emulation).
  write_config(
      {.version = 4, .with_operator_api = true, .local_storage = true, .cron = "* * * * * *"});
  ASSERT_EQ(https_request(port_, ca(), "POST", "/v1/config/reload", auth).status, 200u);

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
  ASSERT_EQ(https_request(port_, ca(), "PUT", url.substr(origin.size()),
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
    const HttpReply view = https_request(port_, ca(), "GET", "/v1/runs/" + run_id, auth);
    ASSERT_EQ(view.status, 200u) << view.body;
    run = json::parse(view.body);
    if (run.value("status", "") != "running" && run.value("status", "") != "queued") break;
    std::this_thread::sleep_for(50ms);  // polling the API with a deadline
  }
  EXPECT_EQ(run.value("status", ""), "success") << run.dump();
  EXPECT_EQ(run.value("trigger", ""), "agent");
  EXPECT_EQ(run.value("catch_up", false), true);
  EXPECT_EQ(run.value("scheduled_for", ""), core::iso8601_utc(1'790'000'000'000));

  const HttpReply issued =
      https_request(port_, ca(), "POST", "/v1/runs/" + run_id + "/decryption-token", auth);
  ASSERT_EQ(issued.status, 200u) << issued.body;
  const auto parsed = token::parse_decrypt_token(json::parse(issued.body).value("token", ""),
                                                 std::chrono::system_clock::now());
  const auto* decoded = std::get_if<token::DecryptToken>(&parsed);
  ASSERT_NE(decoded, nullptr) << std::get<token::TokenError>(parsed).message;
  EXPECT_TRUE(std::equal(dek.begin(), dek.end(), decoded->dek.bytes().begin()));
  EXPECT_EQ(https_request(port_, ca(), "GET", "/v1/runs/" + run_id + "/download-url", auth).status,
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
  const HttpReply view = https_request(port_, ca(), "GET", "/v1/runs/arun-1", auth);
  ASSERT_EQ(view.status, 200u);
  const json run = json::parse(view.body);
  EXPECT_EQ(run.value("status", ""), "failed");
  EXPECT_EQ(run.value("trigger", ""), "agent");
  EXPECT_NE(
      run.value("error", "").find("wrapped the data key to key id \"x25519-0000000000000000\""),
      std::string::npos)
      << run.dump();
  EXPECT_EQ(https_request(port_, ca(), "POST", "/v1/runs/arun-1/decryption-token", auth).status,
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
