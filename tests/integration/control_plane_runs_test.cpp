// The operator API of the real control plane with the real agent: run dispatch over the
// agents' TLS port, driven with the curl CLI like an operator would.
#include <gtest/gtest.h>

#include <thread>

#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "integration-admin-token-7f3a";

LinePredicate event_with(std::string event, std::string key, std::string value) {
  return [event, key, value](const Json& line) {
    return line.value("event", "") == event && line.value(key, "") == value;
  };
}

class ControlPlaneRunsTest : public ::testing::Test {
 protected:
  static ControlPlaneOptions options() {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    // Nothing listens there: this suite is about dispatch, not uploads.
    o.storage_endpoint = "http://127.0.0.1:9";
    return o;
  }

  // Starts the agent and waits until the control plane has registered it.
  void connect_agent(ControlPlane& cp) {
    agent_ = std::make_unique<Agent>(ws_, AgentOptions{.server_url = cp.url()});
    agent_->start();
    ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();
  }

  std::string start_run(ControlPlane& cp) {
    const ApiReply reply = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken);
    EXPECT_EQ(reply.status, 202) << reply.body;
    return reply.json().value("run_id", "");
  }

  Json wait_for_run(ControlPlane& cp, const std::string& run_id,
                    const std::function<bool(const Json&)>& pred, std::chrono::seconds timeout) {
    return cp.wait_for_run(run_id, kAdminToken, pred, timeout);
  }

  void expect_no_secrets_logged(ControlPlane& cp) {
    cp.log().poll();
    const std::string& raw = cp.log().raw();
    EXPECT_EQ(raw.find(kAdminToken), std::string::npos);
    EXPECT_EQ(raw.find("backupy-test-secret-key"), std::string::npos);
    EXPECT_EQ(raw.find("X-Amz-Signature"), std::string::npos);
  }

  Workspace ws_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(ControlPlaneRunsTest, RejectsRequestsWithoutAValidAdminToken) {
  ControlPlane cp(ws_, options());
  for (const std::string& token :
       {std::string(), std::string("wrong-token"), agent_key_for("agent-1")}) {
    const ApiReply reply = cp.api("POST", "/v1/jobs/nightly/run", token);
    EXPECT_EQ(reply.status, 401);
    EXPECT_EQ(reply.json(), Json::parse(R"({"error":"unauthorized"})"));
  }
  const auto logged = cp.log().wait_for(event_is("api_request"), 5s);
  ASSERT_TRUE(logged);
  EXPECT_EQ(logged->value("status", 0), 401);
  EXPECT_EQ(logged->value("path", ""), "/v1/jobs/nightly/run");
  expect_no_secrets_logged(cp);
}

TEST_F(ControlPlaneRunsTest, UnknownJobIs404AndAnOfflineAgentsRunWaitsForIt) {
  ControlPlane cp(ws_, options());
  const ApiReply unknown = cp.api("POST", "/v1/jobs/no-such-job/run", kAdminToken);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json().value("error", ""), "job no-such-job not found");
  EXPECT_EQ(cp.api("GET", "/v1/runs/run-0000000000000000", kAdminToken).status, 404);
  // Nothing waits and the agent is not there to tell: a cancel has nothing to act on.
  EXPECT_EQ(cp.api("POST", "/v1/jobs/nightly/cancel", kAdminToken).status, 409);

  const ApiReply offline = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken);
  ASSERT_EQ(offline.status, 202) << offline.body;
  const std::string run_id = offline.json().value("run_id", "");
  EXPECT_EQ(offline.json().value("status", ""), "queued");
  EXPECT_FALSE(offline.json().value("delivered", true));
  ASSERT_TRUE(cp.log().wait_for(event_with("run_waiting", "run_id", run_id), 5s));
  const ApiReply again = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.json().value("active_run_id", ""), run_id);

  connect_agent(cp);
  ASSERT_TRUE(cp.log().wait_for(event_with("run_sent", "run_id", run_id), 5s))
      << cp.log().dump_tail();
  EXPECT_TRUE(wait_for_run(
                  cp, run_id, [](const Json& r) { return r.value("delivered", false); }, 5s)
                  .value("delivered", false));
}

TEST_F(ControlPlaneRunsTest, DispatchesARunAndFollowsTheAgentsReports) {
  ControlPlane cp(ws_, options());
  connect_agent(cp);
  const ApiReply reply = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken);
  ASSERT_EQ(reply.status, 202) << reply.body;
  const Json accepted = reply.json();
  const std::string run_id = accepted.value("run_id", "");
  ASSERT_FALSE(run_id.empty());
  EXPECT_EQ(accepted.value("agent_id", ""), "agent-1");
  EXPECT_EQ(accepted.value("job_id", ""), "nightly");
  EXPECT_EQ(accepted.value("s3_key", ""), "agents/agent-1/nightly/" + run_id + ".bkpy");

  ASSERT_TRUE(cp.log().wait_for(event_with("run_created", "run_id", run_id), 5s));
  const auto sent = cp.log().wait_for(event_with("run_sent", "run_id", run_id), 5s);
  ASSERT_TRUE(sent) << cp.log().dump_tail();
  EXPECT_EQ(sent->value("agent_id", ""), "agent-1");

  // Whatever this agent build does with the run, it reports on it.
  const Json run = wait_for_run(
      cp, run_id,
      [](const Json& r) { return r.value("status", "") != "queued" && r.value("updates", 0) >= 1; },
      60s);
  EXPECT_NE(run.value("status", ""), "queued") << run.dump() << cp.log().dump_tail();
  EXPECT_GE(run.value("updates", 0), 1);
  EXPECT_EQ(run.value("run_id", ""), run_id);
  EXPECT_TRUE(cp.log().wait_for(event_with("run_update", "run_id", run_id), 5s));

  const ApiReply download = cp.api("GET", "/v1/runs/" + run_id + "/download-url", kAdminToken);
  ASSERT_EQ(download.status, 200);
  EXPECT_EQ(download.json().value("url", "").rfind(
                "http://127.0.0.1:9/backups/agents/agent-1/nightly/" + run_id + ".bkpy?", 0),
            0u);
  expect_no_secrets_logged(cp);
}

TEST_F(ControlPlaneRunsTest, IdempotencyKeyReturnsTheSameRun) {
  ControlPlane cp(ws_, options());
  connect_agent(cp);
  const std::map<std::string, std::string> key = {{"Idempotency-Key", "nightly-2024-01-01"}};
  const ApiReply first = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken, "", key);
  const ApiReply second = cp.api("POST", "/v1/jobs/nightly/run", kAdminToken, "", key);
  ASSERT_EQ(first.status, 202) << first.body;
  ASSERT_EQ(second.status, 202) << second.body;
  const std::string run_id = first.json().value("run_id", "");
  EXPECT_EQ(second.json().value("run_id", ""), run_id);
  // The first run has not finished: another needs allow_concurrent.
  const ApiReply concurrent =
      cp.api("POST", "/v1/jobs/nightly/run", kAdminToken, R"({"allow_concurrent":true})");
  ASSERT_EQ(concurrent.status, 202) << concurrent.body;
  const std::string other = concurrent.json().value("run_id", "");
  EXPECT_NE(other, run_id);
  ASSERT_TRUE(cp.log().wait_for(event_with("run_sent", "run_id", other), 5s));
  EXPECT_EQ(cp.log().count(event_with("run_sent", "run_id", run_id)), 1u);
}

TEST_F(ControlPlaneRunsTest, IssuesDecryptionTokensWithTheContractClaims) {
  ControlPlane cp(ws_, options());
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  const ApiReply reply =
      cp.api("POST", "/v1/runs/" + run_id + "/decryption-token", kAdminToken, R"({"ttl_sec":120})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string jwt = reply.json().value("token", "");
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t dot = jwt.find('.', start);
    parts.push_back(jwt.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  ASSERT_EQ(parts.size(), 3u) << jwt;
  EXPECT_EQ(Json::parse(decode_base64(parts[0])).value("alg", ""), "HS256");
  const Json claims = Json::parse(decode_base64(parts[1]));
  EXPECT_EQ(claims.value("iss", ""), "backupy-server");
  EXPECT_EQ(claims.value("aud", ""), "backupy-decrypt");
  EXPECT_EQ(claims.value("sub", ""), "agent-1");
  EXPECT_EQ(claims.value("run_id", ""), run_id);
  EXPECT_EQ(claims.value("company_id", ""), "self-hosted");
  EXPECT_EQ(claims.value("alg", ""), "AES-256-GCM");
  EXPECT_EQ(claims.value("format_version", 0), 1);
  EXPECT_EQ(claims.value("exp", 0) - claims.value("iat", 0), 120);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  EXPECT_LE(std::abs(claims.value("iat", std::int64_t{0}) - now), 60);
  const std::string dek = claims.value("dek", "");
  EXPECT_EQ(dek.size(), 44u);
  EXPECT_EQ(decode_base64(dek).size(), 32u);
  EXPECT_FALSE(claims.contains("sha256")) << "the run has not completed";
  EXPECT_EQ(claims.size(), 10u) << claims.dump();
  // The token and its key never reach the log.
  cp.log().poll();
  EXPECT_EQ(cp.log().raw().find(parts[2]), std::string::npos);
  EXPECT_EQ(cp.log().raw().find(dek), std::string::npos);
}

TEST_F(ControlPlaneRunsTest, CancelIsSentToTheAgent) {
  ControlPlane cp(ws_, options());
  connect_agent(cp);
  const ApiReply reply = cp.api("POST", "/v1/jobs/nightly/cancel", kAdminToken);
  ASSERT_EQ(reply.status, 202) << reply.body;
  EXPECT_EQ(reply.json(), Json::parse(R"({"job_id":"nightly","agent_id":"agent-1",
                                          "withdrawn_runs":0,"cancel_sent":true})"));
  const auto sent = cp.log().wait_for(event_with("cancel_sent", "job_id", "nightly"), 5s);
  ASSERT_TRUE(sent) << cp.log().dump_tail();
  EXPECT_EQ(sent->value("agent_id", ""), "agent-1");
}

TEST_F(ControlPlaneRunsTest, ResendsARunWithFreshCredentials) {
  ControlPlane cp(ws_, options());
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  ASSERT_TRUE(cp.log().wait_for(event_with("run_sent", "run_id", run_id), 5s));
  std::this_thread::sleep_for(1100ms);  // a later signing second: a different URL
  const ApiReply reply = cp.api("POST", "/v1/runs/" + run_id + "/resend", kAdminToken);
  if (reply.status == 409) {
    // This agent build may already have finished the run successfully (nothing to refresh).
    EXPECT_EQ(reply.json().value("error", ""), "run " + run_id + " already succeeded");
    return;
  }
  ASSERT_EQ(reply.status, 202) << reply.body;
  const auto resent = cp.log().wait_for(
      [&](const Json& line) {
        return line.value("event", "") == "run_sent" && line.value("run_id", "") == run_id &&
               line.value("resend", false);
      },
      5s);
  ASSERT_TRUE(resent) << cp.log().dump_tail();
  EXPECT_EQ(cp.api("POST", "/v1/runs/run-unknown/resend", kAdminToken).status, 404);
}

}  // namespace
}  // namespace backupy::testing
