// The operator subcommands of the real backupy-control-plane binary against a real control
// plane: agents, runs list, run --wait with the real agent backing up a SQLite database into
// s3rver, download (bytes equal to the stored object), token (accepted by backupy-decrypt),
// and the errors an operator meets (wrong token, unknown run, nothing listening, untrusted
// certificate, token on the command line).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "backupy/test_support/s3_server.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "cli-admin-token-5d21";

class ControlPlaneCliTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 500); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  ControlPlaneOptions options(const std::string& storage_endpoint) const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_endpoint = storage_endpoint;
    o.storage_access_key_id = "S3RVER";  // the only key id s3rver accepts
    o.agent_config_yaml = orders_agent_config(database());
    return o;
  }

  void connect_agent(ControlPlane& cp) {
    agent_ = std::make_unique<Agent>(ws_, AgentOptions{.server_url = cp.url()});
    agent_->start();
    ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();
  }

  // The environment an operator would set; `token` empty = no BACKUPY_ADMIN_TOKEN.
  std::map<std::string, std::string> env(const ControlPlane& cp,
                                         const std::string& token = kAdminToken) const {
    std::map<std::string, std::string> e = {{"BACKUPY_CP_URL", cp.url()},
                                            {"BACKUPY_CP_CA", (ws_.pki() / "ca.crt").string()}};
    if (!token.empty()) e["BACKUPY_ADMIN_TOKEN"] = token;
    return e;
  }

  static CommandResult cli(std::vector<std::string> args, std::map<std::string, std::string> env,
                           std::chrono::milliseconds timeout = 30s) {
    args.insert(args.begin(), BACKUPY_CONTROL_PLANE_BIN);
    return run_command(std::move(args), std::move(env), timeout);
  }

  Workspace ws_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(ControlPlaneCliTest, RunWaitListDownloadAndTokenRestoreTheDatabase) {
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));

  const CommandResult never = cli({"agents"}, env(cp));
  ASSERT_EQ(never.exit_code, 0) << never.err;
  EXPECT_NE(never.out.find("agent-1"), std::string::npos) << never.out;
  EXPECT_NE(never.out.find("never"), std::string::npos) << never.out;

  connect_agent(cp);
  ASSERT_TRUE(cp.log().wait_for(event_is("heartbeat"), 10s));
  const CommandResult agents = cli({"agents"}, env(cp));
  ASSERT_EQ(agents.exit_code, 0) << agents.err;
  EXPECT_EQ(agents.out.rfind("AGENT", 0), 0u) << agents.out;
  EXPECT_NE(agents.out.find("connected"), std::string::npos) << agents.out;

  // run --wait: stdout is the run id alone; exit 0 because the run succeeded.
  const CommandResult run = cli({"run", "orders", "--wait"}, env(cp), 90s);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string run_id = run.out.substr(0, run.out.find('\n'));
  EXPECT_EQ(run.out, run_id + "\n");
  EXPECT_EQ(run_id.rfind("run-", 0), 0u) << run.out;
  EXPECT_NE(run.err.find("success"), std::string::npos) << run.err;
  const Json view = cp.wait_for_run(
      run_id, kAdminToken, [](const Json&) { return true; }, 5s);
  ASSERT_EQ(view.value("status", ""), "success") << view.dump();

  const CommandResult listed = cli({"runs", "list", "--job", "orders", "--limit", "5"}, env(cp));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(run_id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("success"), std::string::npos) << listed.out;
  const CommandResult none = cli({"runs", "list", "--status", "failed"}, env(cp));
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out.find(run_id), std::string::npos) << none.out;

  // download: the stored object, byte for byte, and no temp file left behind.
  const std::filesystem::path blob = ws_.dir() / "download" / "orders.bkpy";
  std::filesystem::create_directories(blob.parent_path());
  const CommandResult download = cli({"download", run_id, "--out", blob.string()}, env(cp));
  ASSERT_EQ(download.exit_code, 0) << download.err;
  const std::optional<std::string> stored = s3.read_object(view.value("s3_key", ""));
  ASSERT_TRUE(stored);
  EXPECT_EQ(slurp(blob), *stored);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(blob.parent_path()),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_EQ(download.err.find("X-Amz-"), std::string::npos);

  // token: a JWT alone on stdout, which backupy-decrypt accepts for that object.
  const CommandResult token = cli({"token", run_id}, env(cp));
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_EQ(std::count(token.out.begin(), token.out.end(), '.'), 2) << token.out;
  const std::filesystem::path token_file = ws_.dir() / "run.token";
  std::ofstream(token_file) << token.out;
  const std::filesystem::path restored = ws_.dir() / "restored.db";
  const CommandResult decrypt =
      run_command({BACKUPY_DECRYPT_BIN, "--token-file", token_file.string(), "--in", blob.string(),
                   "--out", restored.string()},
                  {});
  ASSERT_EQ(decrypt.exit_code, 0) << decrypt.err;
  EXPECT_EQ(slurp(restored).substr(0, 16), std::string("SQLite format 3\0", 16));

  cp.log().poll();
  EXPECT_EQ(cp.log().raw().find(kAdminToken), std::string::npos);
}

TEST_F(ControlPlaneCliTest, ErrorsSayWhatIsWrong) {
  ControlPlane cp(ws_, options("http://127.0.0.1:9"));

  const CommandResult wrong = cli({"agents"}, env(cp, "not-the-admin-token"));
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("admin token rejected"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("not-the-admin-token"), std::string::npos) << wrong.err;

  const CommandResult missing = cli({"agents"}, env(cp, ""));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no admin token"), std::string::npos) << missing.err;

  const CommandResult argv_token = cli({"agents", "--token", kAdminToken}, env(cp, ""));
  EXPECT_EQ(argv_token.exit_code, 2);
  EXPECT_NE(argv_token.err.find("--token is not accepted"), std::string::npos) << argv_token.err;

  // --token-file works instead of the environment.
  const std::filesystem::path token_file = ws_.dir() / "admin.token";
  std::ofstream(token_file) << kAdminToken << "\n";
  const CommandResult from_file = cli({"agents", "--token-file", token_file.string()}, env(cp, ""));
  EXPECT_EQ(from_file.exit_code, 0) << from_file.err;

  const CommandResult unknown_run = cli({"token", "run-nope"}, env(cp));
  EXPECT_EQ(unknown_run.exit_code, 1);
  EXPECT_NE(unknown_run.err.find("run run-nope not found (HTTP 404)"), std::string::npos)
      << unknown_run.err;
  const CommandResult unknown_job = cli({"run", "no-such-job"}, env(cp));
  EXPECT_EQ(unknown_job.exit_code, 1);
  EXPECT_NE(unknown_job.err.find("job no-such-job not found (HTTP 404)"), std::string::npos)
      << unknown_job.err;

  // No agent is connected: the run waits for it, and says so.
  const CommandResult waiting = cli({"run", "orders"}, env(cp));
  EXPECT_EQ(waiting.exit_code, 0) << waiting.err;
  const std::string waiting_id = waiting.out.substr(0, waiting.out.find('\n'));
  EXPECT_NE(waiting.err.find(waiting_id + ": agent agent-1 is offline; the run waits for it to "
                                          "connect"),
            std::string::npos)
      << waiting.err;
  const CommandResult busy = cli({"run", "orders"}, env(cp));
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_NE(busy.err.find("job orders already has an unfinished run " + waiting_id),
            std::string::npos)
      << busy.err;
  const CommandResult gave_up =
      cli({"run", "orders", "--allow-concurrent", "--wait", "--timeout", "1"}, env(cp));
  EXPECT_EQ(gave_up.exit_code, 1) << gave_up.err;
  EXPECT_NE(gave_up.err.find("after 1 s (still queued, not yet delivered to agent agent-1)"),
            std::string::npos)
      << gave_up.err;
  const CommandResult stray_timeout = cli({"run", "orders", "--timeout", "5"}, env(cp));
  EXPECT_EQ(stray_timeout.exit_code, 2);
  EXPECT_NE(stray_timeout.err.find("--timeout only applies to --wait"), std::string::npos);
  const CommandResult bad_timeout = cli({"run", "orders", "--wait", "--timeout", "0"}, env(cp));
  EXPECT_EQ(bad_timeout.exit_code, 2);

  const CommandResult bad_filter = cli({"runs", "list", "--limit", "0"}, env(cp));
  EXPECT_EQ(bad_filter.exit_code, 1);
  EXPECT_NE(bad_filter.err.find("limit must be an integer between 1 and 1000 (HTTP 400)"),
            std::string::npos)
      << bad_filter.err;

  std::map<std::string, std::string> untrusted = env(cp);
  untrusted.erase("BACKUPY_CP_CA");
  const CommandResult tls = cli({"agents"}, untrusted);
  EXPECT_EQ(tls.exit_code, 1);
  EXPECT_NE(tls.err.find("cannot reach the control plane at " + cp.url() +
                         ": TLS handshake with 127.0.0.1:" + std::to_string(cp.port()) +
                         " failed: certificate verify failed ("),
            std::string::npos)
      << tls.err;
  EXPECT_NE(tls.err.find("--ca or BACKUPY_CP_CA"), std::string::npos) << tls.err;

  const CommandResult refused = cli({"agents", "--url", "https://127.0.0.1:1"}, env(cp));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("connection refused"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace backupy::testing
