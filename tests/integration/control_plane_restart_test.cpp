// The catalog end to end: the control plane is SIGKILLed while a run is in flight and started
// again with the same YAML (same catalog, same generated master.key, same port). The agent
// finishes the backup meanwhile, reconnects and replays its outbox; the result lands exactly
// once, and the run's data key, unsealed from the catalog by the new process, decrypts the
// object. Afterwards GET /v1/agents still knows the agent when it is gone.
#include <gtest/gtest.h>

#include <fstream>

#include "backupy/test_support/s3_server.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "catalog-restart-admin-token-51ad";

class ControlPlaneRestartTest : public ::testing::Test {
 protected:
  Workspace ws_;
  GatedOrders orders_{ws_, 3000};
};

TEST_F(ControlPlaneRestartTest, AResultOfARunInFlightLandsExactlyOnceAfterARestart) {
  S3Server s3;
  ControlPlane cp(ws_, orders_.options(kAdminToken, s3.endpoint()));
  Agent agent(ws_,
              AgentOptions{.server_url = cp.url(), .extra_env = {{"BACKUPY_HOOKS", "enabled"}}});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();

  const ApiReply accepted = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string run_id = accepted.json().value("run_id", "");
  const Json held = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("current_step", "") == "pre_hooks"; },
      30s);
  ASSERT_EQ(held.value("current_step", ""), "pre_hooks") << held.dump();

  // The control plane dies with the run in flight; the agent finishes it alone (its upload
  // goes straight to S3) and keeps the results in its outbox.
  cp.kill();
  orders_.open_gate();
  ASSERT_TRUE(agent.log().wait_for(msg_is("run completed"), 60s)) << agent.log().dump_tail();

  cp.restart();
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 30s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << cp.log().dump_tail();
  // The completion reached the restarted process (the agent replayed it), and exactly one
  // completion was applied across both processes: the catalog's record of applied results.
  EXPECT_EQ(cp.log().count([&](const Json& line) {
    return line.value("event", "") == "result" && line.value("type", "") == "backup_completed" &&
           line.value("run_id", "") == run_id;
  }),
            1u)
      << cp.log().dump_tail();
  EXPECT_EQ(catalog_count(cp.catalog(), "SELECT count(*) FROM job_updates WHERE run_id = '" +
                                            run_id + "' AND kind = 'backup_completed'"),
            1);
  // Every applied agent result has its row; the control plane's own object check one more.
  EXPECT_EQ(catalog_count(cp.catalog(), "SELECT count(*) FROM job_updates WHERE run_id = '" +
                                            run_id + "' AND kind = 'object_check'"),
            1);
  EXPECT_EQ(catalog_count(cp.catalog(),
                          "SELECT count(*) FROM job_updates WHERE run_id = '" + run_id + "'"),
            static_cast<long long>(run.value("updates", 0ull)) + 1);

  // The object is what the agent reported; a token issued by the new process decrypts it.
  const ApiReply download = cp.api("GET", "/v1/runs/" + run_id + "/download-url", kAdminToken);
  ASSERT_EQ(download.status, 200) << download.body;
  const std::filesystem::path blob = ws_.dir() / "downloaded.bkpy";
  const CommandResult fetched =
      run_command({find_executable("curl").string(), "--silent", "--fail", "--output",
                   blob.string(), download.json().value("url", "")},
                  {});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  const std::string object = slurp(blob);
  EXPECT_EQ(object.size(), run.value("size_bytes", 0ull));
  EXPECT_EQ(sha256_hex(object), run.value("sha256", ""));
  const std::filesystem::path restored = ws_.dir() / "restored.db";
  const CommandResult decrypt = cp.decrypt_object(run_id, kAdminToken, blob, restored);
  ASSERT_EQ(decrypt.exit_code, 0) << decrypt.err;
  EXPECT_EQ(slurp(restored), slurp(orders_.database()));

  // With the agent gone and the server restarted once more, the catalog still knows it.
  agent.stop_gracefully();
  cp.kill();
  cp.restart();
  const ApiReply agents = cp.api("GET", "/v1/agents", kAdminToken);
  ASSERT_EQ(agents.status, 200) << agents.body;
  const Json view = agents.json()["agents"][0];
  EXPECT_EQ(view.value("state", ""), "disconnected") << view.dump();
  EXPECT_TRUE(view["last_heartbeat"].is_string()) << view.dump();
  EXPECT_TRUE(view["disconnected_at"].is_string()) << view.dump();
  EXPECT_FALSE(view.value("hostname", "").empty()) << view.dump();
  const ApiReply listed = cp.api("GET", "/v1/runs?job=orders", kAdminToken);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.json()["runs"].size(), 1u) << listed.body;
  EXPECT_EQ(listed.json()["runs"][0].value("status", ""), "success") << listed.body;
}

}  // namespace
}  // namespace backupy::testing
