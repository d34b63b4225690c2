// Secrets never leave the agent in what it reports about itself (issue #7, "Logs"): a full
// backup whose config carries recognisable secrets — a target password, the agent key, the
// presigned URL's signature, the run's data key, the S3 secret — runs against the real control
// plane with AdvancedSettings.log_level debug, so every agent line also travels as a LogEvent.
// None of the secrets may appear in the agent's stdout or stderr, in the LogEvents the control
// plane received (its log and its catalog, payload included), in its own log, in the
// operator API's answers, or in what the agent's metrics endpoint serves.
//
// The secrets really pass through the logging paths, so a broken redactor fails the test: a
// post hook prints the password and the agent key (its output tail becomes a LogEvent field),
// and a second job's target (a PostgreSQL that is not there) carries the password into
// pg_dump's environment, fails, and makes WARN/ERROR LogEvents about that job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <cctype>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/core/hex.hpp"
#include "backupy/state/run_journal.hpp"
#include "backupy/state/state_db.hpp"
#include "backupy/test_support/db_servers.hpp"
#include "fixtures.hpp"
#include "prometheus_server.hpp"  // http_get

namespace backupy::testing {
namespace {

const std::string kAdminToken = "redaction-admin-token-5d1e";
// Recognisable, and unique to this test so no other output can contain them by chance.
const std::string kPassword = "S3cr3t-Redaction-Canary-Pw-7f3a91";
const std::string kS3Secret = "S3cr3t-Redaction-Canary-S3-c02b44";

// A LogEvent as the control plane's catalog stored it.
struct StoredLogEvent {
  std::string level;
  std::string job_id;
  std::string message;
  std::string payload;  // the serialized LogEvent, as received
  backup::v1::LogEvent event;
};

// Every LogEvent in the control plane's catalog (a SQLite file; read after the server stopped).
std::vector<StoredLogEvent> stored_log_events(const std::filesystem::path& catalog) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(catalog.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot open " + catalog.string());
  sqlite3_stmt* stmt_raw = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT level, job_id, message, payload FROM log_events ORDER BY id", -1,
                         &stmt_raw, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("log_events: ") + sqlite3_errmsg(db.get()));
  }
  const std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(stmt_raw,
                                                                        &sqlite3_finalize);
  const auto text = [&](int column) {
    const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt.get(), column));
    return bytes ? std::string(bytes, sqlite3_column_bytes(stmt.get(), column)) : std::string();
  };
  std::vector<StoredLogEvent> events;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    StoredLogEvent stored{text(0), text(1), text(2), text(3), {}};
    if (!stored.event.ParseFromString(stored.payload)) {
      throw std::runtime_error("a stored LogEvent payload does not parse");
    }
    events.push_back(std::move(stored));
  }
  return events;
}

// The text an operator could see of a LogEvent: message and every field, as stored.
std::string visible_text(const StoredLogEvent& stored) {
  std::string text = stored.message + "\n" + stored.payload + "\n";
  for (const auto& [key, value] : stored.event.fields()) text += key + "=" + value + "\n";
  return text;
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

class RedactionTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 2000); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  // Job "orders" (SQLite, succeeds) runs a post hook that prints the password and the agent
  // key; job "broken" points at a PostgreSQL that is not there (a free port), with the same
  // password. AdvancedSettings.log_level debug forwards every agent line as a LogEvent.
  ControlPlaneOptions options(const std::string& s3_endpoint, int closed_port) const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_endpoint = s3_endpoint;
    o.storage_access_key_id = "S3RVER";  // the only key id s3rver accepts
    o.storage_secret_access_key = kS3Secret;
    o.agent_config_yaml =
        "version: 1\n"
        "targets:\n"
        "  - {id: lite, type: sqlite, display_name: Orders, connection: {database: \"" +
        database().string() +
        "\"}}\n"
        "  - {id: pgdown, type: postgresql, display_name: Gone, connection: {host: 127.0.0.1, "
        "port: " +
        std::to_string(closed_port) + ", database: app, username: backup, password: \"" +
        kPassword +
        "\", strategy: tcp}}\n"
        "jobs:\n"
        "  - {id: orders, target_id: lite, retention_days: 7, compression: zstd, "
        "encryption_enabled: true, post_hooks: [\"echo connecting with " +
        kPassword + "; echo agent key " + o.agent_key +
        " >&2\"]}\n"
        "  - {id: broken, target_id: pgdown, retention_days: 7, compression: zstd, "
        "encryption_enabled: true}\n"
        "advanced: {log_level: debug}\n";
    return o;
  }

  std::string start_run(ControlPlane& cp, const std::string& job) {
    const ApiReply reply = cp.api("POST", "/v1/jobs/" + job + "/run", kAdminToken);
    EXPECT_EQ(reply.status, 202) << reply.body;
    return reply.json().value("run_id", "");
  }

  // The run's data key as the "dek" claim of the operator's decryption token carries it
  // (standard base64 of 32 bytes).
  std::string data_key_claim(ControlPlane& cp, const std::string& run_id) {
    const ApiReply reply = cp.api("POST", "/v1/runs/" + run_id + "/decryption-token", kAdminToken);
    const std::string jwt = reply.json().value("token", "");
    const std::size_t first = jwt.find('.');
    const std::size_t second = jwt.find('.', first + 1);
    if (reply.status != 200 || first == std::string::npos || second == std::string::npos) {
      ADD_FAILURE() << "no decryption token: " << reply.body;
      return "";
    }
    const Json claims = Json::parse(decode_base64(jwt.substr(first + 1, second - first - 1)));
    return claims.value("dek", "");
  }

  // The presigned PUT URL the agent received for run_id, from its run journal (sealed under the
  // agent key; read after the agent stopped).
  std::string presigned_url_of(const Agent& agent, const std::string& agent_key,
                               const std::string& run_id) {
    const auto db =
        state::StateDb::open(agent.state_dir() / "state.db", state::StateDb::Mode::read_only);
    state::RunJournal journal(*db, agent_key);
    const auto record = journal.get(run_id);
    return record ? record->creds.presigned_put_url : "";
  }

  Workspace ws_;
};

TEST_F(RedactionTest, NoSecretReachesLogsLogEventsOrTheOperatorApi) {
  S3Server s3;
  const int closed_port = test_support::pick_free_port();
  const ControlPlaneOptions cp_options = options(s3.endpoint(), closed_port);
  ControlPlane cp(ws_, cp_options);
  const std::string metrics_addr = "127.0.0.1:" + std::to_string(test_support::pick_free_port());
  Agent agent(ws_, AgentOptions{.server_url = cp.url(),
                                .agent_key = cp_options.agent_key,
                                .extra_env = {{"BACKUPY_HOOKS", "enabled"},
                                              {"BACKUPY_METRICS_LISTEN_ADDR", metrics_addr}}});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();

  // A full backup: dump, compress, encrypt, upload through the presigned URL, post hook.
  const std::string run_id = start_run(cp, "orders");
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 30s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent.log().dump_tail();
  // A failing one: pg_dump finds no server behind the target.
  const std::string broken_id = start_run(cp, "broken");

  // The LogEvents arrived: the post hook's (its output scrubbed) and a WARN/ERROR one about the
  // failing job.
  const auto is_log_event = [](const Json& line) {
    return line.value("event", "") == "result" && line.value("type", "") == "log_event";
  };
  ASSERT_TRUE(cp.log().wait_for(
      [&](const Json& line) {
        return is_log_event(line) && line.value("job_id", "") == "orders" &&
               line.value("message", "") == "post hook finished";
      },
      10s))
      << cp.log().dump_tail();
  ASSERT_TRUE(cp.log().wait_for(
      [&](const Json& line) {
        const std::string level = line.value("log_level", "");
        return is_log_event(line) && line.value("job_id", "") == "broken" &&
               (level == "WARN" || level == "ERROR");
      },
      15s))
      << cp.log().dump_tail() << agent.log().dump_tail();

  // What the operator API says about both runs.
  const std::string api_answers = cp.api("GET", "/v1/runs/" + run_id, kAdminToken).body +
                                  cp.api("GET", "/v1/runs/" + broken_id, kAdminToken).body +
                                  cp.api("GET", "/v1/runs?limit=50", kAdminToken).body +
                                  cp.api("GET", "/v1/agents", kAdminToken).body;
  // What the agent's metrics endpoint serves, once both runs ended there.
  const auto metrics_show_both_runs = [&] {
    const HttpReply reply = http_get("http://" + metrics_addr + "/metrics");
    return reply.status == 200 &&
           reply.body.find("job_id=\"broken\",status=\"failed\"") != std::string::npos &&
           reply.body.find("job_id=\"orders\",status=\"success\"") != std::string::npos;
  };
  const auto metrics_deadline = std::chrono::steady_clock::now() + 10s;
  while (!metrics_show_both_runs() && std::chrono::steady_clock::now() < metrics_deadline) {
    std::this_thread::sleep_for(100ms);
  }
  const std::string exposition = http_get("http://" + metrics_addr + "/metrics").body +
                                 http_get("http://" + metrics_addr + "/healthz").body;
  EXPECT_TRUE(metrics_show_both_runs()) << exposition;
  const std::string dek_base64 = data_key_claim(cp, run_id);
  const std::string dek = decode_base64(dek_base64);
  ASSERT_EQ(dek.size(), 32u) << dek_base64;

  agent.stop_gracefully();
  cp.process().signal(SIGTERM);
  ASSERT_TRUE(cp.process().wait(15s)) << cp.log().dump_tail();

  const std::string url = presigned_url_of(agent, cp_options.agent_key, run_id);
  const std::string signature = test_support::presigned_signature(url);
  ASSERT_EQ(signature.size(), 64u) << "no presigned URL in the agent's journal";

  const std::vector<StoredLogEvent> events = stored_log_events(cp.catalog());
  std::string log_event_text;
  bool scrubbed_hook_output = false;
  bool failing_job_reported = false;
  for (const StoredLogEvent& stored : events) {
    log_event_text += visible_text(stored);
    const auto& fields = stored.event.fields();
    if (stored.job_id == "orders" && fields.contains("stdout_tail") &&
        fields.contains("stderr_tail")) {
      // The hook printed both secrets; what arrived has them replaced.
      EXPECT_NE(fields.at("stdout_tail").find("connecting with [REDACTED]"), std::string::npos)
          << fields.at("stdout_tail");
      EXPECT_NE(fields.at("stderr_tail").find("agent key [REDACTED]"), std::string::npos)
          << fields.at("stderr_tail");
      scrubbed_hook_output = true;
    }
    // The failing job's WARN/ERROR event names its target (the reason pg_dump gave).
    if (stored.job_id == "broken" && (stored.level == "WARN" || stored.level == "ERROR") &&
        visible_text(stored).find("target pgdown") != std::string::npos) {
      failing_job_reported = true;
    }
  }
  EXPECT_GT(events.size(), 10u) << "debug lines should travel as LogEvents too";
  EXPECT_TRUE(scrubbed_hook_output) << log_event_text;
  EXPECT_TRUE(failing_job_reported) << log_event_text;

  agent.log().poll();
  cp.log().poll();
  const std::vector<std::pair<std::string, std::string>> places = {
      {"agent stdout", agent.log().raw()},
      {"agent stderr", slurp(agent.process().stderr_file())},
      {"LogEvents in the catalog", log_event_text},
      {"control plane log", cp.log().raw()},
      {"control plane stderr", slurp(cp.process().stderr_file())},
      {"operator API", api_answers},
      {"agent /metrics and /healthz", exposition},
  };
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"target password", kPassword},
      {"agent key", cp_options.agent_key},
      {"agent key (upper case)", upper(cp_options.agent_key)},
      {"presigned signature", signature},
      {"presigned URL query", url.substr(url.find('?'))},
      {"data key (hex)", core::to_hex(dek)},
      {"data key (base64)", dek_base64},
      {"S3 secret", kS3Secret},
      {"admin token", kAdminToken},
  };
  for (const auto& [place, text] : places) {
    // The logs, LogEvents and answers exist (stderr may rightly be empty).
    if (place.find("stderr") == std::string::npos) {
      EXPECT_FALSE(text.empty()) << place;
    }
    for (const auto& [what, secret] : secrets) {
      if (secret.empty()) continue;
      EXPECT_EQ(text.find(secret), std::string::npos) << what << " found in " << place;
    }
  }
}

}  // namespace
}  // namespace backupy::testing
