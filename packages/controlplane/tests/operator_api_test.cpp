// The operator API without sockets: requests in, answers, sent envelopes and log lines out.
#include "operator_api.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/token/decrypt_token.hpp"
#include "base64.hpp"
#include "fake_agents.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using nlohmann::json;
using Envelope = backup::v1::Envelope;

constexpr std::string_view kAdminToken = "admin-token-0123456789";
constexpr std::string_view kStorageSecret = "storage-secret-key-xyz";
constexpr std::uint64_t kNowMs = 1'700'000'000'123;

using testing::FakeAgents;

AgentEntry agent(const std::string& id, std::initializer_list<std::string> jobs) {
  return testing::agent_with_jobs(id, jobs);
}

class OperatorApiTest : public ::testing::Test {
 protected:
  OperatorApiTest() {
    config_.agents = {agent("agent-1", {"nightly", "shared", "odd/job"}),
                      agent("agent-2", {"weekly", "shared"})};
    config_.admin_token_sha256 = {hash_agent_key("other-token"), hash_agent_key(kAdminToken)};
    config_.storage = testing::s3_storage(std::string(kStorageSecret));
    agents_.online_ids = {"agent-1", "agent-2"};
  }

  struct Answer {
    unsigned status;
    json body;
  };

  Answer call(std::string method, std::string target, std::string body = "",
              std::optional<std::string> idempotency_key = std::nullopt,
              std::optional<std::string> authorization = "Bearer " + std::string(kAdminToken)) {
    ApiRequest request{std::move(method),          std::move(target), std::move(authorization),
                       std::move(idempotency_key), std::move(body),   "127.0.0.1:5555"};
    const std::unique_ptr<ObjectStore> store =
        config_.storage ? make_object_store(*config_.storage, crypto::as_bytes(signing_key_),
                                            "https://127.0.0.1:8443")
                        : nullptr;
    ApiContext context{config_,     runs_,   agents_, crypto::as_bytes(signing_key_),
                       store.get(), now_ms_, log_,    reload_};
    const ApiResponse response = handle_operator_request(request, context);
    json parsed = json::parse(response.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << response.body;
    return {response.status, parsed};
  }

  std::vector<json> events(std::string_view name) const { return logs_.events(name); }

  std::string all_logs() const { return logs_.all(); }

  const backup::v1::RunBackup& last_run_backup() const {
    EXPECT_FALSE(agents_.sent.empty());
    EXPECT_EQ(agents_.sent.back().second.payload_case(), Envelope::kRunBackup);
    return agents_.sent.back().second.run_backup();
  }

  testing::LogCapture logs_;  // first: captures from construction on
  ServerConfig config_;
  RunStore runs_;
  FakeAgents agents_;
  std::string signing_key_ = std::string(32, 's');
  std::uint64_t now_ms_ = kNowMs;
  core::Logger log_{"control-plane"};
  std::function<ReloadResult()> reload_;
};

TEST_F(OperatorApiTest, ClaimsEveryV1PathButTheAgentsEndpoint) {
  EXPECT_TRUE(is_operator_path("/v1/jobs/x/run"));
  EXPECT_TRUE(is_operator_path("/v1/anything"));
  EXPECT_FALSE(is_operator_path("/v1/agents/connect"));
  EXPECT_FALSE(is_operator_path("/healthz"));
  EXPECT_FALSE(is_operator_path("/v2/jobs/x/run"));
}

TEST_F(OperatorApiTest, AnswersUnauthorizedBeforeRouting) {
  const std::vector<std::optional<std::string>> bad = {std::nullopt, "Bearer wrong-token",
                                                       "Basic " + std::string(kAdminToken),
                                                       "Bearer ", std::string(kAdminToken)};
  for (const auto& authorization : bad) {
    for (const std::string target : {"/v1/jobs/nightly/run", "/v1/no/such/route"}) {
      const Answer answer = call("POST", target, "", std::nullopt, authorization);
      EXPECT_EQ(answer.status, 401u) << target;
      EXPECT_EQ(answer.body, json::parse(R"({"error":"unauthorized"})"));
    }
  }
  EXPECT_TRUE(agents_.sent.empty());
  EXPECT_EQ(runs_.size(), 0u);
  const auto requests = events("api_request");
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].value("status", 0), 401);
  EXPECT_EQ(requests[0].value("path", ""), "/v1/jobs/nightly/run");
  EXPECT_EQ(all_logs().find(kAdminToken), std::string::npos);

  // Without configured admin tokens nothing is authorized.
  config_.admin_token_sha256.clear();
  EXPECT_EQ(call("GET", "/v1/runs/x").status, 401u);
}

TEST_F(OperatorApiTest, AnswersNotFoundAndMethodNotAllowed) {
  EXPECT_EQ(call("POST", "/v1/jobs/unknown/run").status, 404u);
  EXPECT_EQ(call("POST", "/v1/jobs/unknown/run").body.value("error", ""), "job unknown not found");
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/launch").status, 404u);
  EXPECT_EQ(call("POST", "/v1/jobs//run").status, 404u);
  EXPECT_EQ(call("POST", "/v1/jobs/%zz/run").status, 404u);
  EXPECT_EQ(call("GET", "/v1/runs/run-unknown").status, 404u);
  EXPECT_EQ(call("POST", "/v1/runs/run-unknown/resend").status, 404u);
  EXPECT_EQ(call("POST", "/v1/runs/run-unknown/decryption-token").status, 404u);
  EXPECT_EQ(call("GET", "/v1/runs/run-unknown/download-url").status, 404u);
  EXPECT_EQ(call("GET", "/v1/jobs/nightly/run").status, 405u);
  EXPECT_EQ(call("POST", "/v1/runs/run-x").status, 405u);
  EXPECT_TRUE(agents_.sent.empty());
}

// A context without the self-update state (server_self_update_test.cpp covers the routes).
TEST_F(OperatorApiTest, SelfUpdateNeedsItsState) {
  for (const char* method : {"GET", "POST"}) {
    const Answer answer = call(method, "/v1/agents/agent-1/self-update", "{}");
    EXPECT_EQ(answer.status, 500u) << method;
    EXPECT_EQ(answer.body.value("error", ""), "self-update is not available");
  }
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(OperatorApiTest, RefusesAmbiguousJobsAndCancelsOnlyOnline) {
  agents_.online_ids.erase("agent-1");
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/cancel").status, 409u);

  const Answer ambiguous = call("POST", "/v1/jobs/shared/run");
  EXPECT_EQ(ambiguous.status, 409u);
  EXPECT_EQ(ambiguous.body.value("error", ""),
            "job shared is configured for more than one agent (agent-1, agent-2)");
  EXPECT_EQ(runs_.size(), 0u);
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(OperatorApiTest, ARunForAnOfflineAgentWaitsForIt) {
  agents_.online_ids.erase("agent-1");
  const Answer answer = call("POST", "/v1/jobs/nightly/run");
  ASSERT_EQ(answer.status, 202u) << answer.body;
  const std::string run_id = answer.body.value("run_id", "");
  EXPECT_EQ(answer.body, (json{{"run_id", run_id},
                               {"agent_id", "agent-1"},
                               {"job_id", "nightly"},
                               {"s3_key", "agents/agent-1/nightly/" + run_id + ".bkpy"},
                               {"status", "queued"},
                               {"trigger", "manual"},
                               {"delivered", false}}));
  EXPECT_TRUE(agents_.sent.empty());
  ASSERT_EQ(events("run_waiting").size(), 1u);
  EXPECT_EQ(events("run_waiting")[0].value("run_id", ""), run_id);
  EXPECT_FALSE(call("GET", "/v1/runs/" + run_id).body.value("delivered", true));

  // The job's unfinished run is in the way of another, unless the operator allows it.
  const Answer second = call("POST", "/v1/jobs/nightly/run");
  EXPECT_EQ(second.status, 409u);
  EXPECT_EQ(second.body, (json{{"error", "job nightly already has an unfinished run " + run_id +
                                             " (queued, waiting for agent agent-1 to connect)"},
                               {"active_run_id", run_id}}));
  const Answer concurrent = call("POST", "/v1/jobs/nightly/run", R"({"allow_concurrent": true})");
  EXPECT_EQ(concurrent.status, 202u) << concurrent.body;
  EXPECT_NE(concurrent.body.value("run_id", ""), run_id);
  EXPECT_EQ(runs_.size(), 2u);
}

TEST_F(OperatorApiTest, RefusesBadRunBodiesWithAReason) {
  const auto error_of = [&](const std::string& body) {
    const Answer answer = call("POST", "/v1/jobs/nightly/run", body);
    EXPECT_EQ(answer.status, 400u) << body;
    return answer.body.value("error", "");
  };
  EXPECT_EQ(error_of("{"), "body must be a JSON object");
  EXPECT_EQ(error_of("[true]"), "body must be a JSON object");
  EXPECT_EQ(error_of(R"({"allow_concurent": true})"),
            "unknown field allow_concurent (expected allow_concurrent)");
  EXPECT_EQ(error_of(R"({"allow_concurrent": "yes"})"), "allow_concurrent must be true or false");
  EXPECT_EQ(runs_.size(), 0u);
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/run", R"({"allow_concurrent": false})").status, 202u);
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/run", " \n").status, 409u);  // empty: not concurrent
}

TEST_F(OperatorApiTest, DispatchesARunWithPresignedUploadCredentialsAndARawDek) {
  const Answer answer = call("POST", "/v1/jobs/nightly/run?ignored=1");
  ASSERT_EQ(answer.status, 202u) << answer.body;
  const std::string run_id = answer.body.value("run_id", "");
  const std::string s3_key = "agents/agent-1/nightly/" + run_id + ".bkpy";
  EXPECT_EQ(answer.body, (json{{"run_id", run_id},
                               {"agent_id", "agent-1"},
                               {"job_id", "nightly"},
                               {"s3_key", s3_key},
                               {"status", "queued"},
                               {"trigger", "manual"},
                               {"delivered", true}}));

  ASSERT_EQ(agents_.sent.size(), 1u);
  EXPECT_EQ(agents_.sent[0].first, "agent-1");
  const backup::v1::RunBackup& command = last_run_backup();
  EXPECT_EQ(command.job_id(), "nightly");
  EXPECT_EQ(command.run_id(), run_id);
  EXPECT_TRUE(command.manual_trigger());
  EXPECT_EQ(command.upload_creds().final_s3_key(), s3_key);
  EXPECT_EQ(command.upload_creds().expires_at_ms(), (kNowMs / 1000 + 900) * 1000);
  const std::string& url = command.upload_creds().presigned_put_url();
  const std::string prefix = "http://127.0.0.1:9000/backups/" + s3_key +
                             "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F";
  EXPECT_EQ(url.substr(0, prefix.size()), prefix);
  EXPECT_NE(url.find("&X-Amz-Expires=900&"), std::string::npos);
  EXPECT_NE(url.find("&X-Amz-Signature="), std::string::npos);
  const RunRecord* run = runs_.find(run_id);
  ASSERT_NE(run, nullptr);
  ASSERT_EQ(command.encrypted_dek().size(), 32u);
  EXPECT_TRUE(std::equal(run->dek.bytes().begin(), run->dek.bytes().end(),
                         reinterpret_cast<const std::uint8_t*>(command.encrypted_dek().data())));

  const auto created = events("run_created");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0].value("run_id", ""), run_id);
  EXPECT_EQ(created[0].value("job_id", ""), "nightly");
  EXPECT_EQ(created[0].value("agent_id", ""), "agent-1");
  const auto sent = events("run_sent");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].value("correlation_id", ""), "run-test-1");
  EXPECT_FALSE(sent[0].value("resend", true));
  const auto request = events("api_request").back();
  EXPECT_EQ(request.value("path", ""), "/v1/jobs/nightly/run");
  EXPECT_EQ(request.value("method", ""), "POST");
  EXPECT_EQ(request.value("status", 0), 202);

  // Nothing secret in the logs: no URL query, no key material.
  const std::string logs = all_logs();
  EXPECT_EQ(logs.find("X-Amz-"), std::string::npos);
  EXPECT_EQ(logs.find(kStorageSecret), std::string::npos);
  EXPECT_EQ(logs.find(core::to_hex(run->dek.bytes())), std::string::npos);
  EXPECT_EQ(logs.find(base64_encode(run->dek.bytes())), std::string::npos);
}

TEST_F(OperatorApiTest, PercentDecodesJobIds) {
  const Answer answer = call("POST", "/v1/jobs/odd%2Fjob/run");
  ASSERT_EQ(answer.status, 202u);
  EXPECT_EQ(last_run_backup().job_id(), "odd/job");
  EXPECT_NE(last_run_backup().upload_creds().presigned_put_url().find(
                "/backups/agents/agent-1/odd/job/run-"),
            std::string::npos);
}

TEST_F(OperatorApiTest, ReplaysRunsByIdempotencyKey) {
  const Answer first = call("POST", "/v1/jobs/nightly/run", "", "key-1");
  const Answer again = call("POST", "/v1/jobs/nightly/run", "", "key-1");
  ASSERT_EQ(first.status, 202u);
  EXPECT_EQ(again.status, 202u);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(agents_.sent.size(), 1u);
  EXPECT_EQ(runs_.size(), 1u);

  EXPECT_EQ(call("POST", "/v1/jobs/weekly/run", "", "key-1").status, 422u);
  const Answer other =
      call("POST", "/v1/jobs/nightly/run", R"({"allow_concurrent":true})", "key-2");
  EXPECT_NE(other.body.value("run_id", ""), first.body.value("run_id", ""));
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/run", "", std::string(256, 'k')).status, 400u);

  // A key whose first attempt failed is not burnt.
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/run", "", "key-3").status, 409u);  // active run
  EXPECT_EQ(call("POST", "/v1/jobs/weekly/run", "", "key-3").status, 202u);
  // A waiting run is remembered like a sent one.
  agents_.online_ids.erase("agent-2");
  const Answer waiting = call("POST", "/v1/jobs/weekly/run", R"({"allow_concurrent":true})", "k4");
  EXPECT_EQ(waiting.status, 202u);
  EXPECT_FALSE(waiting.body.value("delivered", true));
  EXPECT_EQ(call("POST", "/v1/jobs/weekly/run", "", "k4").body, waiting.body);
}

TEST_F(OperatorApiTest, NeedsStorageToDispatch) {
  config_.storage.reset();
  const Answer answer = call("POST", "/v1/jobs/nightly/run");
  EXPECT_EQ(answer.status, 503u);
  EXPECT_EQ(answer.body.value("error", ""), "storage is not configured");
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(OperatorApiTest, ReportsRunStateFromTheAgentsResults) {
  const std::string run_id = call("POST", "/v1/jobs/nightly/run").body.value("run_id", "");
  Answer view = call("GET", "/v1/runs/" + run_id);
  ASSERT_EQ(view.status, 200u);
  EXPECT_EQ(view.body, (json{{"run_id", run_id},
                             {"job_id", "nightly"},
                             {"agent_id", "agent-1"},
                             {"status", "queued"},
                             {"current_step", ""},
                             {"progress_percent", 0},
                             {"error", ""},
                             {"s3_key", "agents/agent-1/nightly/" + run_id + ".bkpy"},
                             {"size_bytes", 0},
                             {"sha256", ""},
                             {"compression", ""},
                             {"db_engine_version", ""},
                             {"updates", 0},
                             {"trigger", "manual"},
                             {"catch_up", false},
                             {"scheduled_for", nullptr},
                             {"delivered", true}}));

  Envelope update;
  update.mutable_job_update()->set_run_id(run_id);
  update.mutable_job_update()->set_status(backup::v1::RUNNING);
  update.mutable_job_update()->set_current_step("dump");
  update.mutable_job_update()->set_progress_percent(30);
  apply_run_result(runs_, log_, "agent-2", update);  // not its run: ignored
  EXPECT_EQ(call("GET", "/v1/runs/" + run_id).body.value("updates", -1), 0);
  apply_run_result(runs_, log_, "agent-1", update);
  view = call("GET", "/v1/runs/" + run_id);
  EXPECT_EQ(view.body.value("status", ""), "running");
  EXPECT_EQ(view.body.value("current_step", ""), "dump");
  EXPECT_EQ(view.body.value("progress_percent", 0), 30);

  Envelope completed;
  completed.mutable_backup_completed()->set_run_id(run_id);
  completed.mutable_backup_completed()->set_size_bytes(4096);
  completed.mutable_backup_completed()->set_sha256(std::string(64, 'e'));
  completed.mutable_backup_completed()->set_compression("zstd");
  completed.mutable_backup_completed()->set_db_engine_version("SQLite 3.40");
  apply_run_result(runs_, log_, "agent-1", completed);
  view = call("GET", "/v1/runs/" + run_id);
  // Not a success before the control plane has seen the object (storage_maintenance.hpp).
  EXPECT_EQ(view.body.value("status", ""), "running");
  EXPECT_EQ(view.body.value("current_step", ""), kVerifyingStep);
  runs_.confirm_object(*runs_.find(run_id), "", now_ms_);
  view = call("GET", "/v1/runs/" + run_id);
  EXPECT_EQ(view.body.value("status", ""), "success");
  EXPECT_EQ(view.body.value("size_bytes", 0), 4096);
  EXPECT_EQ(view.body.value("sha256", ""), std::string(64, 'e'));
  EXPECT_EQ(view.body.value("compression", ""), "zstd");
  EXPECT_EQ(view.body.value("db_engine_version", ""), "SQLite 3.40");
  EXPECT_EQ(view.body.value("updates", 0), 2);

  const auto updates = events("run_update");
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0].value("status", ""), "running");
  EXPECT_EQ(updates[1].value("status", ""), "running");
  EXPECT_EQ(updates[1].value("run_id", ""), run_id);
}

TEST_F(OperatorApiTest, ResendsTheSameRunWithFreshCredentials) {
  const std::string run_id = call("POST", "/v1/jobs/nightly/run").body.value("run_id", "");
  const backup::v1::RunBackup first = last_run_backup();
  now_ms_ += 60'000;
  const Answer answer = call("POST", "/v1/runs/" + run_id + "/resend");
  ASSERT_EQ(answer.status, 202u);
  EXPECT_EQ(answer.body.value("run_id", ""), run_id);
  ASSERT_EQ(agents_.sent.size(), 2u);
  const backup::v1::RunBackup& second = last_run_backup();
  EXPECT_EQ(second.run_id(), run_id);
  EXPECT_EQ(second.job_id(), "nightly");
  EXPECT_EQ(second.encrypted_dek(), first.encrypted_dek());
  EXPECT_EQ(second.upload_creds().final_s3_key(), first.upload_creds().final_s3_key());
  EXPECT_EQ(second.upload_creds().expires_at_ms(), first.upload_creds().expires_at_ms() + 60'000);
  EXPECT_NE(second.upload_creds().presigned_put_url(), first.upload_creds().presigned_put_url());
  EXPECT_TRUE(events("run_sent").back().value("resend", false));

  agents_.online_ids.clear();
  EXPECT_EQ(call("POST", "/v1/runs/" + run_id + "/resend").status, 409u);
  agents_.online_ids.insert("agent-1");
  Envelope completed;
  completed.mutable_backup_completed()->set_run_id(run_id);
  apply_run_result(runs_, log_, "agent-1", completed);
  const Answer verifying = call("POST", "/v1/runs/" + run_id + "/resend");
  EXPECT_EQ(verifying.status, 409u);
  EXPECT_EQ(verifying.body.value("error", ""),
            "run " + run_id + " has stored its object (being verified)");
  runs_.confirm_object(*runs_.find(run_id), "", now_ms_);
  const Answer done = call("POST", "/v1/runs/" + run_id + "/resend");
  EXPECT_EQ(done.status, 409u);
  EXPECT_EQ(done.body.value("error", ""), "run " + run_id + " already succeeded");
}

TEST_F(OperatorApiTest, CancelsJobs) {
  const Answer answer = call("POST", "/v1/jobs/weekly/cancel");
  ASSERT_EQ(answer.status, 202u);
  EXPECT_EQ(answer.body, (json{{"job_id", "weekly"},
                               {"agent_id", "agent-2"},
                               {"withdrawn_runs", 0},
                               {"cancel_sent", true}}));
  ASSERT_EQ(agents_.sent.size(), 1u);
  EXPECT_EQ(agents_.sent[0].first, "agent-2");
  EXPECT_EQ(agents_.sent[0].second.cancel_job().job_id(), "weekly");
  const auto cancelled = events("cancel_sent");
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_EQ(cancelled[0].value("job_id", ""), "weekly");
  EXPECT_EQ(cancelled[0].value("agent_id", ""), "agent-2");
  EXPECT_EQ(call("POST", "/v1/jobs/nope/cancel").status, 404u);
}

TEST_F(OperatorApiTest, CancelWithdrawsRunsThatStillWaitForTheirAgent) {
  agents_.online_ids.clear();
  EXPECT_EQ(call("POST", "/v1/jobs/nightly/cancel").status, 409u);  // nothing to withdraw
  const std::string waiting = call("POST", "/v1/jobs/nightly/run").body.value("run_id", "");
  ASSERT_FALSE(waiting.empty());
  const Answer answer = call("POST", "/v1/jobs/nightly/cancel");
  ASSERT_EQ(answer.status, 202u);
  EXPECT_EQ(answer.body.value("withdrawn_runs", 0), 1);
  EXPECT_FALSE(answer.body.value("cancel_sent", true));
  const Answer view = call("GET", "/v1/runs/" + waiting);
  EXPECT_EQ(view.body.value("status", ""), "cancelled");
  EXPECT_EQ(view.body.value("error", ""), "cancelled by an operator before it reached the agent");
  ASSERT_EQ(events("run_withdrawn").size(), 1u);

  // The agent comes back: nothing of the withdrawn run is sent.
  agents_.online_ids.insert("agent-1");
  EXPECT_TRUE(runs_.undelivered("agent-1").empty());
  EXPECT_TRUE(agents_.sent.empty());
}

TEST_F(OperatorApiTest, IssuesDecryptionTokensTheCliAccepts) {
  now_ms_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  const std::string run_id = call("POST", "/v1/jobs/nightly/run").body.value("run_id", "");
  const Answer answer = call("POST", "/v1/runs/" + run_id + "/decryption-token");
  ASSERT_EQ(answer.status, 200u);
  ASSERT_EQ(answer.body.size(), 1u);
  const std::string jwt = answer.body.value("token", "");
  const auto parsed = token::parse_decrypt_token(jwt, std::chrono::system_clock::now());
  const auto* decoded = std::get_if<token::DecryptToken>(&parsed);
  ASSERT_NE(decoded, nullptr) << std::get<token::TokenError>(parsed).message;
  EXPECT_EQ(decoded->run_id, run_id);
  EXPECT_EQ(decoded->subject, "agent-1");
  EXPECT_EQ(decoded->expires_at - decoded->issued_at, 3600);
  EXPECT_FALSE(decoded->sha256);
  const RunRecord* run = runs_.find(run_id);
  EXPECT_TRUE(std::equal(decoded->dek.bytes().begin(), decoded->dek.bytes().end(),
                         run->dek.bytes().begin()));

  const Answer short_lived =
      call("POST", "/v1/runs/" + run_id + "/decryption-token", R"({"ttl_sec": 60})");
  ASSERT_EQ(short_lived.status, 200u);
  const auto again = token::parse_decrypt_token(short_lived.body.value("token", ""),
                                                std::chrono::system_clock::now());
  ASSERT_TRUE(std::holds_alternative<token::DecryptToken>(again));
  EXPECT_EQ(std::get<token::DecryptToken>(again).expires_at -
                std::get<token::DecryptToken>(again).issued_at,
            60);

  for (const std::string body : {"[]", "nonsense", R"({"ttl_sec": 0})", R"({"ttl_sec": "60"})",
                                 R"({"ttl_sec": 99999999})", R"({"ttl": 60})"}) {
    EXPECT_EQ(call("POST", "/v1/runs/" + run_id + "/decryption-token", body).status, 400u) << body;
  }
  const std::string logs = all_logs();
  EXPECT_EQ(logs.find(jwt.substr(jwt.rfind('.') + 1)), std::string::npos);
  ASSERT_EQ(events("decryption_token_issued").size(), 2u);
}

TEST_F(OperatorApiTest, PresignsDownloads) {
  const std::string run_id = call("POST", "/v1/jobs/nightly/run").body.value("run_id", "");
  const Answer answer = call("GET", "/v1/runs/" + run_id + "/download-url");
  ASSERT_EQ(answer.status, 200u);
  const std::string url = answer.body.value("url", "");
  const std::string prefix =
      "http://127.0.0.1:9000/backups/agents/agent-1/nightly/" + run_id + ".bkpy?X-Amz-";
  EXPECT_EQ(url.substr(0, prefix.size()), prefix);
  EXPECT_EQ(answer.body.value("expires_at_ms", std::uint64_t{0}), (kNowMs / 1000 + 900) * 1000);
  // A GET signature differs from the PUT one for the same object and time.
  const std::string put = last_run_backup().upload_creds().presigned_put_url();
  EXPECT_EQ(put.substr(0, put.find("&X-Amz-Signature=")),
            url.substr(0, url.find("&X-Amz-Signature=")));
  EXPECT_NE(put, url);
  EXPECT_EQ(all_logs().find("X-Amz-Signature"), std::string::npos);
}

// With the embedded store, runs carry URLs of the control plane itself.
TEST_F(OperatorApiTest, LocalStoragePresignsControlPlaneUrls) {
  StorageConfig local;
  local.type = StorageType::local;
  local.dir = "/var/lib/backupy/objects";
  local.url_ttl_sec = 300;
  config_.storage = local;
  const Answer accepted = call("POST", "/v1/jobs/nightly/run");
  ASSERT_EQ(accepted.status, 202u);
  const std::string run_id = accepted.body.value("run_id", "");
  const std::string object = "https://127.0.0.1:8443/objects/agents/agent-1/nightly/" + run_id +
                             ".bkpy?expires=" + std::to_string(kNowMs / 1000 + 300) + "&sig=";
  const std::string put = last_run_backup().upload_creds().presigned_put_url();
  EXPECT_EQ(put.substr(0, object.size()), object);
  EXPECT_EQ(last_run_backup().upload_creds().expires_at_ms(), (kNowMs / 1000 + 300) * 1000);

  config_.storage->public_url = "https://backups.example.com";
  const Answer download = call("GET", "/v1/runs/" + run_id + "/download-url");
  ASSERT_EQ(download.status, 200u);
  const std::string url = download.body.value("url", "");
  EXPECT_EQ(url.substr(0, 36), "https://backups.example.com/objects/");
  EXPECT_NE(url.substr(url.find("&sig=")), put.substr(put.find("&sig=")));  // GET != PUT
  EXPECT_EQ(all_logs().find(url.substr(url.find("&sig=") + 5)), std::string::npos);
}

// A job id the embedded store cannot use as a key is refused before anything is sent.
TEST_F(OperatorApiTest, LocalStorageRefusesJobIdsThatAreNoObjectKey) {
  StorageConfig local;
  local.type = StorageType::local;
  local.dir = "/var/lib/backupy/objects";
  config_.storage = local;
  config_.agents = {agent("agent-1", {"bad\tjob", "dot/.."})};
  for (const std::string job : {"bad%09job", "dot%2F.."}) {
    const Answer answer = call("POST", "/v1/jobs/" + job + "/run");
    EXPECT_EQ(answer.status, 422u) << job;
    EXPECT_NE(answer.body.value("error", "").find("not usable in an object key"),
              std::string::npos);
  }
  EXPECT_TRUE(agents_.sent.empty());
  EXPECT_EQ(runs_.size(), 0u);
}

}  // namespace
}  // namespace backupy::controlplane::detail

// ------------------------------------------------------ listings and reload --

namespace backupy::controlplane::detail {
namespace {

TEST_F(OperatorApiTest, ListsRunsNewestFirstWithFilters) {
  std::vector<std::string> ids;
  for (const char* job : {"nightly", "weekly", "nightly"}) {
    ids.push_back(call("POST", std::string("/v1/jobs/") + job + "/run").body.value("run_id", ""));
    if (ids.size() == 1) {  // the first run ends, so that its job may run again
      Envelope failed;
      failed.mutable_job_update()->set_run_id(ids[0]);
      failed.mutable_job_update()->set_status(backup::v1::FAILED);
      apply_run_result(runs_, log_, "agent-1", failed);
    }
  }

  const auto run_ids = [&](const std::string& target) {
    const Answer answer = call("GET", target);
    EXPECT_EQ(answer.status, 200u) << target << " " << answer.body;
    std::vector<std::string> out;
    for (const json& run : answer.body["runs"]) out.push_back(run.value("run_id", ""));
    return out;
  };
  EXPECT_EQ(run_ids("/v1/runs"), (std::vector<std::string>{ids[2], ids[1], ids[0]}));
  EXPECT_EQ(run_ids("/v1/runs?limit=2"), (std::vector<std::string>{ids[2], ids[1]}));
  EXPECT_EQ(run_ids("/v1/runs?job=nightly"), (std::vector<std::string>{ids[2], ids[0]}));
  EXPECT_EQ(run_ids("/v1/runs?agent=agent-2"), (std::vector<std::string>{ids[1]}));
  EXPECT_EQ(run_ids("/v1/runs?status=failed"), (std::vector<std::string>{ids[0]}));
  EXPECT_EQ(run_ids("/v1/runs?status=QUEUED&job=nightly&agent=agent-1&limit=1000"),
            (std::vector<std::string>{ids[2]}));
  EXPECT_EQ(run_ids("/v1/runs?agent=agent%2D9"), (std::vector<std::string>{}));

  const Answer listed = call("GET", "/v1/runs?limit=1");
  ASSERT_EQ(listed.body["runs"].size(), 1u);
  const json& entry = listed.body["runs"][0];
  EXPECT_EQ(entry.value("job_id", ""), "nightly");
  EXPECT_EQ(entry.value("status", ""), "queued");
  EXPECT_EQ(entry.value("s3_key", ""), "agents/agent-1/nightly/" + ids[2] + ".bkpy");
  // RFC 3339 UTC with milliseconds.
  EXPECT_EQ(entry.value("created_at", "").size(), 24u) << entry;
  EXPECT_EQ(entry.value("created_at", "").back(), 'Z');
  EXPECT_EQ(entry.value("sent_at", "").size(), 24u) << entry;
  EXPECT_TRUE(entry["finished_at"].is_null()) << entry;
  EXPECT_EQ(entry.value("trigger", ""), "manual");
}

TEST_F(OperatorApiTest, RefusesBadRunFiltersWithAReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"/v1/runs?limit=0", "limit must be an integer between 1 and 1000"},
      {"/v1/runs?limit=1001", "limit must be an integer between 1 and 1000"},
      {"/v1/runs?limit=-1", "limit must be an integer between 1 and 1000"},
      {"/v1/runs?limit=ten", "limit must be an integer between 1 and 1000"},
      {"/v1/runs?limit=99999999999999999999", "limit must be an integer between 1 and 1000"},
      {"/v1/runs?status=done", "status must be one of queued, running, success, failed, cancelled"},
      {"/v1/runs?agent=", "filter agent must not be empty"},
      {"/v1/runs?job=a&job=b", "filter job given twice"},
      {"/v1/runs?owner=me", "unknown filter owner (expected agent, job, status, limit)"},
      {"/v1/runs?job=%zz", "malformed query string"},
  };
  for (const auto& [target, reason] : bad) {
    const Answer answer = call("GET", target);
    EXPECT_EQ(answer.status, 400u) << target;
    EXPECT_EQ(answer.body.value("error", ""), reason) << target;
  }
  EXPECT_EQ(call("POST", "/v1/runs").status, 405u);
  EXPECT_EQ(call("GET", "/v1/runs", "", std::nullopt, "Bearer nope").status, 401u);
}

TEST_F(OperatorApiTest, ListsEveryConfiguredAgentWithWhatItReported) {
  config_.agents[0].config.set_version(7);
  agents_.online_ids = {"agent-1"};
  backup::v1::Register reg;
  reg.set_agent_version("1.4.0");
  reg.set_hostname("db-host");
  reg.set_last_known_config_version(6);
  agents_.board.on_register("agent-1", "session-a", reg, 7, kNowMs);
  backup::v1::Heartbeat heartbeat;
  heartbeat.set_config_version(7);
  heartbeat.mutable_metrics()->set_cpu_percent(12.5F);
  heartbeat.mutable_metrics()->set_mem_used_bytes(100);
  heartbeat.mutable_metrics()->set_mem_total_bytes(200);
  heartbeat.mutable_metrics()->set_disk_used_bytes(300);
  heartbeat.mutable_metrics()->set_disk_total_bytes(400);
  heartbeat.mutable_metrics()->set_queue_depth(2);
  agents_.board.on_heartbeat("agent-1", "session-a", heartbeat, kNowMs + 1000);
  // A late event of an older session changes nothing.
  agents_.board.on_disconnect("agent-1", "session-old", kNowMs + 2000);

  const Answer answer = call("GET", "/v1/agents");
  ASSERT_EQ(answer.status, 200u) << answer.body;
  ASSERT_EQ(answer.body["agents"].size(), 2u);
  EXPECT_EQ(answer.body["agents"][0], json::parse(R"({"agent_id":"agent-1","state":"connected",
              "configured_config_version":7,
              "connected_since":"2023-11-14T22:13:20.123Z","disconnected_at":null,
              "last_heartbeat":"2023-11-14T22:13:21.123Z",
              "config_version_sent":7,"config_version_acked":7,
              "metrics":{"cpu_percent":12.5,"mem_used_bytes":100,"mem_total_bytes":200,
                         "disk_used_bytes":300,"disk_total_bytes":400,"queue_depth":2},
              "agent_version":"1.4.0","hostname":"db-host"})"));
  EXPECT_EQ(answer.body["agents"][1], json::parse(R"({"agent_id":"agent-2","state":"never",
              "configured_config_version":0,"connected_since":null,"disconnected_at":null,
              "last_heartbeat":null,"config_version_sent":null,"config_version_acked":null,
              "metrics":null,"agent_version":null,"hostname":null})"));

  agents_.online_ids.clear();
  agents_.board.on_disconnect("agent-1", "session-a", kNowMs + 5000);
  const json gone = call("GET", "/v1/agents").body["agents"][0];
  EXPECT_EQ(gone.value("state", ""), "disconnected");
  EXPECT_EQ(gone.value("disconnected_at", ""), "2023-11-14T22:13:25.123Z");
  EXPECT_EQ(gone.value("last_heartbeat", ""), "2023-11-14T22:13:21.123Z");
  EXPECT_EQ(call("POST", "/v1/agents").status, 405u);
}

TEST_F(OperatorApiTest, ReloadsTheConfigurationOrSaysPreciselyWhyNot) {
  EXPECT_EQ(call("POST", "/v1/config/reload").status, 500u);  // no reload hook

  ReloadResult outcome;
  int calls = 0;
  reload_ = [&] {
    ++calls;
    return outcome;
  };
  outcome.ok = true;
  outcome.agents = 3;
  Answer answer = call("POST", "/v1/config/reload");
  EXPECT_EQ(answer.status, 200u);
  EXPECT_EQ(answer.body, json::parse(R"({"reloaded":true,"agents":3,"config_updates_sent":0})"));

  outcome = ReloadResult{};
  outcome.error = "cp.yaml:12: agents[0].key_sha256 must be 64 hex characters";
  outcome.config_error = true;
  answer = call("POST", "/v1/config/reload");
  EXPECT_EQ(answer.status, 400u);
  EXPECT_EQ(answer.body.value("error", ""),
            "reload failed: cp.yaml:12: agents[0].key_sha256 must be 64 hex characters");

  outcome.error = "server is shutting down";
  outcome.config_error = false;
  EXPECT_EQ(call("POST", "/v1/config/reload").status, 500u);

  EXPECT_EQ(call("GET", "/v1/config/reload").status, 405u);
  EXPECT_EQ(call("POST", "/v1/config/reload", "", std::nullopt, std::nullopt).status, 401u);
  EXPECT_EQ(call("POST", "/v1/config").status, 404u);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace backupy::controlplane::detail
