// The control plane's own schedule (v1 mode: scheduling.agent_cron off) end to end (real
// control plane, real agent, the embedded object store, a SQLite target): a run that falls due
// while the agent is offline waits for it, later fires are skipped rather than piled up, and the
// agent receives the run with fresh credentials when it connects. And an operator's cancel ends a
// run mid-way as cancelled with nothing stored.
#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "scheduling-admin-token-5d1e";

LinePredicate event_with(std::string event, std::string key, std::string value) {
  return [event, key, value](const Json& line) {
    return line.value("event", "") == event && line.value(key, "") == value;
  };
}

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

class SchedulingTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(ws_.dir() / "app.db", 2000); }

  // Local storage; the job "orders" with this cron (empty: manual-only) and job_extra fields.
  ControlPlaneOptions options(const std::string& cron, const std::string& job_extra = "") const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_type = "local";
    o.agent_config_yaml = orders_agent_config(ws_.dir() / "app.db", cron, job_extra);
    o.agent_cron = false;  // v1 mode: these tests are about the server's schedule
    return o;
  }

  // GET url with curl trusting the test CA; the HTTP status (0 if curl failed), body in *body.
  int fetch(const std::string& url, std::string* body) const {
    const std::filesystem::path out = ws_.dir() / "fetched";
    const CommandResult result = run_command(
        {find_executable("curl").string(), "--silent", "--cacert", (ws_.pki() / "ca.crt").string(),
         "--output", out.string(), "--write-out", "%{http_code}", url},
        {});
    std::ifstream in(out, std::ios::binary);
    body->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return result.out.empty() ? 0 : std::stoi(result.out);
  }

  static std::function<bool(const Json&)> status_is(std::string status) {
    return [status](const Json& run) { return run.value("status", "") == status; };
  }

  Workspace ws_;
};

TEST_F(SchedulingTest, ARunDueWhileTheAgentIsOfflineIsDeliveredWhenItConnects) {
  ControlPlane cp(ws_, options("*/2 * * * * *"));  // every 2 s, scheduled by the server (v1)
  const auto scheduled = cp.log().wait_for(event_is("run_scheduled"), 10s);
  ASSERT_TRUE(scheduled) << cp.log().dump_tail();
  const std::string run_id = scheduled->value("run_id", "");
  EXPECT_FALSE(scheduled->value("delivered", true));
  EXPECT_EQ(scheduled->value("job_id", ""), "orders");
  ASSERT_TRUE(cp.log().wait_for(event_with("run_waiting", "run_id", run_id), 5s));
  // The next fire finds the waiting run and is skipped: runs do not pile up.
  const auto skipped = cp.log().wait_for(event_with("run_skipped", "active_run_id", run_id), 10s);
  ASSERT_TRUE(skipped) << cp.log().dump_tail();
  EXPECT_EQ(skipped->value("job_id", ""), "orders");

  const ApiReply listed = cp.api("GET", "/v1/runs?job=orders", kAdminToken);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json runs = listed.json()["runs"];
  ASSERT_EQ(runs.size(), 1u) << listed.body;
  EXPECT_EQ(runs[0].value("run_id", ""), run_id);
  EXPECT_EQ(runs[0].value("status", ""), "queued");
  EXPECT_EQ(runs[0].value("trigger", ""), "scheduled");
  EXPECT_FALSE(runs[0].value("delivered", true));
  EXPECT_TRUE(runs[0]["sent_at"].is_null());

  // The agent connects: the waiting run goes out right after RegisterAck, presigned now.
  const std::uint64_t connect_ms = unix_ms();
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  const auto sent = cp.log().wait_for(event_with("run_sent", "run_id", run_id), 20s);
  ASSERT_TRUE(sent) << cp.log().dump_tail();
  EXPECT_FALSE(sent->value("resend", true));
  EXPECT_EQ(sent->value("trigger", ""), "scheduled");
  EXPECT_GE(sent->value("waited_ms", 0ull), 2000ull);
  // The URL's lifetime (url_ttl_sec 3600) starts when it is sent, not when the run was made.
  EXPECT_GE(sent->value("expires_at_ms", 0ull), (connect_ms / 1000 + 3600) * 1000);
  EXPECT_TRUE(cp.log().wait_for(event_is("waiting_runs_delivered"), 5s));

  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("success"), 30s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << cp.log().dump_tail();
  EXPECT_TRUE(run.value("delivered", false));
  EXPECT_EQ(run.value("trigger", ""), "scheduled");

  const ApiReply download = cp.api("GET", "/v1/runs/" + run_id + "/download-url", kAdminToken);
  ASSERT_EQ(download.status, 200) << download.body;
  std::string object;
  ASSERT_EQ(fetch(download.json().value("url", ""), &object), 200);
  EXPECT_EQ(object.size(), run.value("size_bytes", 0ull));
  EXPECT_EQ(sha256_hex(object), run.value("sha256", ""));
}

TEST_F(SchedulingTest, CancelEndsARunMidWayWithNothingStored) {
  // A manual-only job (empty cron) whose pre-hook keeps the run busy until it is cancelled.
  ControlPlane cp(ws_, options("", ", pre_hooks: [\"sleep 30\"]"));
  EXPECT_TRUE(cp.log().wait_for(
      [](const Json& line) {
        return line.value("event", "") == "schedule_built" && line.value("scheduled_jobs", -1) == 0;
      },
      5s));
  Agent agent(ws_,
              AgentOptions{.server_url = cp.url(), .extra_env = {{"BACKUPY_HOOKS", "enabled"}}});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();

  const ApiReply accepted = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_TRUE(accepted.json().value("delivered", false));
  const std::string run_id = accepted.json().value("run_id", "");
  const Json busy = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("current_step", "") == "pre_hooks"; },
      20s);
  ASSERT_EQ(busy.value("current_step", ""), "pre_hooks") << busy.dump();

  // Another run of the busy job is refused, naming the one in the way.
  const ApiReply second = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.json().value("active_run_id", ""), run_id);

  const ApiReply cancel = cp.api("POST", "/v1/jobs/orders/cancel", kAdminToken);
  ASSERT_EQ(cancel.status, 202) << cancel.body;
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("cancelled"), 15s);
  ASSERT_EQ(run.value("status", ""), "cancelled") << run.dump() << cp.log().dump_tail();
  EXPECT_EQ(run.value("error", ""), "cancelled by the control plane");
  EXPECT_FALSE(std::filesystem::exists(ws_.dir() / "objects" / run.value("s3_key", "")));
  const ApiReply download = cp.api("GET", "/v1/runs/" + run_id + "/download-url", kAdminToken);
  ASSERT_EQ(download.status, 200) << download.body;
  std::string body;
  EXPECT_EQ(fetch(download.json().value("url", ""), &body), 404);
}

}  // namespace
}  // namespace backupy::testing
