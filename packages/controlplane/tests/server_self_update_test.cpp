// POST/GET /v1/agents/{id}/self-update against the real server: the SelfUpdate reaches the
// agent's session, the agent's Ack becomes the request's answer, bad bodies are refused with the
// reason, and a presigned URL's query never shows up in the log or an answer.
#include "server_test_fixture.hpp"

namespace backupy::controlplane {
namespace {

using namespace server_test;
using Headers = std::vector<std::pair<std::string, std::string>>;

// The query of a presigned URL: its signature must never be logged or answered.
constexpr std::string_view kUrlSecret = "X-Amz-Signature=5ec7e75ec7e7";
const std::string kBinaryPath = "https://releases.example.com:8443/agent/backupy-agent-1.2.3";
const std::string kBinaryUrl =
    kBinaryPath + "?X-Amz-Credential=AKID%2F20260101&" + std::string(kUrlSecret);
const std::string kSha256 = std::string(32, 'a') + std::string(32, 'F');
// base64 of a (fake) 70-byte DER signature, as cosign sign-blob writes it.
const std::string kSignature =
    "MEQCIGJhY2t1cHktc2VsZi11cGRhdGUtdGVzdC1zaWduYXR1cmUtcjACIGJhY2t1cHktc2VsZi11cGRhdGUtdGVzdA==";

json self_update_body(std::string version = "1.2.3") {
  return {{"target_version", std::move(version)},
          {"binary_url", kBinaryUrl},
          {"sha256", kSha256},
          {"signature", kSignature}};
}

class SelfUpdateTest : public ServerTest {
 protected:
  HttpReply post(const std::string& agent_id, const std::string& body,
                 const Headers& headers = auth()) {
    return https_request(port_, ca(), "POST", "/v1/agents/" + agent_id + "/self-update", headers,
                         body);
  }
  HttpReply get(const std::string& agent_id, const Headers& headers = auth()) {
    return https_request(port_, ca(), "GET", "/v1/agents/" + agent_id + "/self-update", headers);
  }
  // GET's requests for agent-a (checked to be 200).
  json requests() {
    const HttpReply reply = get("agent-a");
    EXPECT_EQ(reply.status, 200u) << reply.body;
    EXPECT_EQ(reply.body.find(kUrlSecret), std::string::npos);
    const json body = json::parse(reply.body);
    EXPECT_EQ(body.value("agent_id", ""), "agent-a");
    return body.value("requests", json::array());
  }
  static Headers auth() { return {{"Authorization", "Bearer " + kAdminToken}}; }
};

Envelope ack(const std::string& correlation_id, bool accepted, const std::string& reason,
             std::uint64_t outbox_seq = 0) {
  Envelope envelope;
  envelope.set_outbox_seq(outbox_seq);
  backup::v1::Ack* answer = envelope.mutable_ack();
  answer->set_correlation_id(correlation_id);
  answer->set_accepted(accepted);
  answer->set_reason(reason);
  return envelope;
}

TEST_F(SelfUpdateTest, ReachesTheAgentAndRecordsItsAnswers) {
  start({.with_operator_api = true});
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  EXPECT_TRUE(requests().empty());

  // 1: refused at once by the agent.
  json body = self_update_body();
  body["force"] = true;
  const HttpReply sent = post("agent-a", body.dump());
  ASSERT_EQ(sent.status, 202u) << sent.body;
  const json accepted = json::parse(sent.body);
  const std::string first = accepted.value("correlation_id", "");
  EXPECT_TRUE(first.starts_with("self-update-")) << first;
  EXPECT_EQ(
      accepted,
      json({{"agent_id", "agent-a"}, {"correlation_id", first}, {"target_version", "1.2.3"}}));

  const std::optional<Envelope> command = agent.next_of(Envelope::kSelfUpdate);
  ASSERT_TRUE(command);
  EXPECT_EQ(command->correlation_id(), first);
  const backup::v1::SelfUpdate& update = command->self_update();
  EXPECT_EQ(update.target_version(), "1.2.3");
  EXPECT_EQ(update.binary_url(), kBinaryUrl);  // the agent needs the whole presigned URL
  EXPECT_EQ(update.sha256(), std::string(32, 'a') + std::string(32, 'f'));
  EXPECT_EQ(update.cosign_signature(), kSignature);  // the base64 text, as given
  EXPECT_TRUE(update.force());

  json listed = requests();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].value("correlation_id", ""), first);
  EXPECT_EQ(listed[0].value("target_version", ""), "1.2.3");
  EXPECT_EQ(listed[0].value("binary_url", ""), kBinaryPath);
  EXPECT_TRUE(listed[0].value("force", false));
  EXPECT_TRUE(listed[0]["sent_at"].is_string());
  EXPECT_FALSE(listed[0].value("answered", true));
  EXPECT_TRUE(listed[0]["accepted"].is_null());
  EXPECT_TRUE(listed[0]["reason"].is_null());
  EXPECT_TRUE(listed[0]["answered_at"].is_null());

  // An Ack of something else changes nothing; the SelfUpdate's Ack is its answer.
  agent.send(ack("ping-unrelated-1", true, ""));
  ASSERT_TRUE(logs_.wait_for("ack", [](const json& line) {
    return line.value("correlation_id", "") == "ping-unrelated-1";
  }));
  EXPECT_FALSE(requests()[0].value("answered", true));
  const std::string refusal =
      "self-update is disabled (advanced.auto_update_enabled is false and force is not set)";
  agent.send(ack(first, false, refusal));
  const std::optional<json> answered = logs_.wait_for("self_update_answered");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->value("level", ""), "warn");
  EXPECT_EQ(answered->value("correlation_id", ""), first);
  listed = requests();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].value("answered", false));
  EXPECT_EQ(listed[0]["accepted"], json(false));
  EXPECT_EQ(listed[0]["reason"], json(refusal));
  EXPECT_TRUE(listed[0]["answered_at"].is_string());

  // 2: accepted after download and verification, the Ack through the durable outbox.
  const HttpReply second_sent = post("agent-a", self_update_body("1.3.0-rc.1+build.7").dump());
  ASSERT_EQ(second_sent.status, 202u) << second_sent.body;
  const std::string second = json::parse(second_sent.body).value("correlation_id", "");
  const std::optional<Envelope> second_command = agent.next_of(Envelope::kSelfUpdate);
  ASSERT_TRUE(second_command);
  EXPECT_EQ(second_command->correlation_id(), second);
  EXPECT_FALSE(second_command->self_update().force());
  agent.send(ack(second, true, "verified 1.3.0-rc.1+build.7; switching when no run is active", 1));
  ASSERT_TRUE(logs_.wait_for("self_update_answered", [&](const json& line) {
    return line.value("correlation_id", "") == second && line.value("level", "") == "info";
  }));
  // A second answer to the same request (a replay) does not overwrite the first.
  agent.send(ack(first, true, "late"));
  ASSERT_TRUE(
      logs_.wait_for("ack", [](const json& line) { return line.value("reason", "") == "late"; }));
  listed = requests();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].value("correlation_id", ""), second);  // newest first
  EXPECT_EQ(listed[0]["accepted"], json(true));
  EXPECT_FALSE(listed[0].value("force", true));
  EXPECT_EQ(listed[1].value("correlation_id", ""), first);
  EXPECT_EQ(listed[1]["reason"], json(refusal));

  // The audit line names agent, correlation id and version; the URL without its query.
  const std::vector<json> audit = logs_.events("self_update_sent");
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0].value("agent_id", ""), "agent-a");
  EXPECT_EQ(audit[0].value("correlation_id", ""), first);
  EXPECT_EQ(audit[0].value("target_version", ""), "1.2.3");
  EXPECT_EQ(audit[0].value("binary_url", ""), kBinaryPath);
  EXPECT_EQ(audit[0].value("level", ""), "info");
  EXPECT_EQ(logs_.all().find(kUrlSecret), std::string::npos);
  EXPECT_EQ(logs_.all().find(kAdminToken), std::string::npos);
  expect_no_secrets_logged();
}

TEST_F(SelfUpdateTest, RefusesBadBodiesWithTheReason) {
  start({.with_operator_api = true});
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  const auto with = [](std::string_view field, json value) {
    json body = self_update_body();
    body[std::string(field)] = std::move(value);
    return body.dump();
  };
  const auto without = [](std::string_view field) {
    json body = self_update_body();
    body.erase(std::string(field));
    return body.dump();
  };
  const std::string bad_signature =
      "signature must be standard base64 with padding (A-Z a-z 0-9 + /, no spaces or newlines), "
      "as cosign sign-blob writes it";
  const std::string bad_sha256 =
      "sha256 must be 64 hexadecimal characters (the SHA-256 of the binary)";
  const std::string not_https =
      "binary_url must be an https:// URL (the agent downloads over HTTPS only)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "body must be a JSON object"},
      {"[1]", "body must be a JSON object"},
      {"{\"target_version\":", "body must be a JSON object"},
      {with("channel", "beta"),
       "unknown field channel (expected target_version, binary_url, sha256, signature, force)"},
      {without("target_version"), "missing field target_version"},
      {without("binary_url"), "missing field binary_url"},
      {without("sha256"), "missing field sha256"},
      {without("signature"), "missing field signature"},
      {with("target_version", 123), "target_version must be a string"},
      {with("target_version", ""), "target_version must not be empty"},
      {with("target_version", "1.2.3 beta"),
       "target_version may only contain 0-9 A-Z a-z . + - (a version such as 1.2.3)"},
      {with("target_version", std::string(65, '1')),
       "target_version must be at most 64 characters"},
      {with("binary_url", "http://releases.example.com/agent?" + std::string(kUrlSecret)),
       not_https},
      {with("binary_url", "HTTPS://releases.example.com/agent"), not_https},
      {with("binary_url", "ftp://releases.example.com/agent"), not_https},
      {with("binary_url", "https:///agent?" + std::string(kUrlSecret)),
       "binary_url must name a host"},
      {with("binary_url", "https://:443/agent"), "binary_url must name a host"},
      {with("binary_url", "https://user:pw@releases.example.com/agent"),
       "binary_url must not carry user:password@ credentials"},
      {with("binary_url", "https://releases.example.com/a b"),
       "binary_url must not contain spaces or control characters"},
      {with("sha256", std::string(63, 'a')), bad_sha256},
      {with("sha256", std::string(63, 'a') + "g"), bad_sha256},
      {with("sha256", std::string(66, 'a')), bad_sha256},
      {with("signature", ""), "signature must not be empty"},
      {with("signature", "MEQC IGJh"), bad_signature},
      {with("signature", "MEQCIGJh\n"), bad_signature},
      {with("signature", "MEQCIGJ"), bad_signature},
      {with("signature", "MEQCIG-_"), bad_signature},  // base64url is not cosign's alphabet
      {with("signature", "===="), bad_signature},
      {with("signature", std::string(1028, 'A')), "signature must be at most 1024 characters"},
      {with("force", "yes"), "force must be true or false"},
  };
  for (const auto& [body, reason] : cases) {
    const HttpReply reply = post("agent-a", body);
    EXPECT_EQ(reply.status, 400u) << body.substr(0, 200);
    EXPECT_EQ(reply.body, json({{"error", reason}}).dump()) << body.substr(0, 200);
  }
  EXPECT_FALSE(agent.next_of(Envelope::kSelfUpdate, 300ms)) << "a refused body was sent";
  EXPECT_TRUE(requests().empty());
  EXPECT_EQ(logs_.all().find(kUrlSecret), std::string::npos);
  // force is optional and may be false; the signature may carry one padding character.
  json body = self_update_body();
  body["signature"] = "MEQCIGJhY2s=";
  body["force"] = false;
  EXPECT_EQ(post("agent-a", body.dump()).status, 202u);
  EXPECT_TRUE(agent.next_of(Envelope::kSelfUpdate));
}

TEST_F(SelfUpdateTest, NeedsTheAdminTokenAKnownAgentAndItsSession) {
  start({.with_operator_api = true});
  const std::string body = self_update_body().dump();
  for (const Headers& headers :
       {Headers{}, Headers{{"Authorization", "Bearer " + std::string(kKeyA)}}}) {
    EXPECT_EQ(post("agent-a", body, headers).status, 401u);
    EXPECT_EQ(get("agent-a", headers).status, 401u);
  }
  const HttpReply unknown = post("agent-zz", body);
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.body, R"({"error":"agent agent-zz not found"})");
  EXPECT_EQ(get("agent-zz").status, 404u);
  EXPECT_EQ(
      https_request(port_, ca(), "PUT", "/v1/agents/agent-a/self-update", auth(), body).status,
      405u);

  // Configured but never connected, then connected and gone again: 409, nothing recorded.
  const HttpReply offline = post("agent-b", body);
  EXPECT_EQ(offline.status, 409u);
  EXPECT_EQ(offline.body, R"({"error":"agent agent-b is offline"})");
  {
    AgentClient agent = client();
    agent.register_agent(kKeyA);
    ASSERT_EQ(post("agent-a", body).status, 202u);
  }
  ASSERT_TRUE(logs_.wait_for("agent_disconnected"));
  EXPECT_EQ(post("agent-a", body).status, 409u);
  const HttpReply none = get("agent-b");
  EXPECT_EQ(none.status, 200u);
  EXPECT_EQ(json::parse(none.body), json({{"agent_id", "agent-b"}, {"requests", json::array()}}));
  EXPECT_EQ(requests().size(), 1u);
}

// At most 20 requests are kept per agent, newest first.
TEST_F(SelfUpdateTest, KeepsTheNewestTwentyRequestsPerAgent) {
  start({.with_operator_api = true});
  AgentClient agent = client();
  agent.register_agent(kKeyA);
  std::vector<std::string> ids;
  for (int i = 0; i < 21; ++i) {
    const HttpReply reply = post("agent-a", self_update_body("1.2." + std::to_string(i)).dump());
    ASSERT_EQ(reply.status, 202u) << reply.body;
    ids.push_back(json::parse(reply.body).value("correlation_id", ""));
  }
  const json listed = requests();
  ASSERT_EQ(listed.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(listed[i].value("correlation_id", ""), ids[20 - i]) << i;
  }
  // The forgotten request's answer is only logged.
  agent.send(ack(ids[0], false, "too old"));
  ASSERT_TRUE(logs_.wait_for(
      "ack", [](const json& line) { return line.value("reason", "") == "too old"; }));
  EXPECT_TRUE(logs_.events("self_update_answered").empty());
}

}  // namespace
}  // namespace backupy::controlplane
