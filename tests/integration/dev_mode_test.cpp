// `backupy-control-plane serve --dev`: the control plane generates its own throwaway CA and
// server certificate, prints the CA file agents must trust, and an agent trusting exactly that
// file registers and uploads into the embedded store (the README demo's setup).
#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "dev-mode-admin-token-51c2";

class DevModeTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 500); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  ControlPlaneOptions options() const {
    ControlPlaneOptions o;
    o.dev_mode = true;
    o.admin_tokens = {kAdminToken};
    o.storage_type = "local";
    o.agent_config_yaml = orders_agent_config(database());
    return o;
  }

  // The CA path from the line `serve --dev` prints on stdout (the fixture's log file).
  static std::string printed_ca_file(ControlPlane& cp) {
    const std::string prefix = "dev mode: agents must trust ";
    const auto line = cp.log().wait_for(
        [&](const Json& j) { return j.value("raw", "").rfind(prefix, 0) == 0; }, 5s);
    if (!line) return "";
    const std::string text = line->value("raw", "");
    return text.substr(prefix.size(), text.find(' ', prefix.size()) - prefix.size());
  }

  Workspace ws_;
};

TEST_F(DevModeTest, AnAgentTrustingThePrintedCaRegistersAndBacksUp) {
  ControlPlane cp(ws_, options());
  const std::string ca_file = printed_ca_file(cp);
  ASSERT_EQ(ca_file, (ws_.dir() / "dev-tls" / "ca.crt").string()) << cp.log().dump_tail();
  const auto generated = cp.log().wait_for(event_is("dev_tls"), 5s);
  ASSERT_TRUE(generated);
  EXPECT_TRUE(generated->value("generated", false));
  EXPECT_EQ(generated->value("ca_file", ""), ca_file);

  Agent agent(ws_,
              AgentOptions{.server_url = cp.url(), .extra_env = {{"BACKUPY_CA_FILE", ca_file}}});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << agent.log().dump_tail();

  // The upload URL is the same listener, so the same CA carries the backup into the store.
  const ApiReply accepted = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string run_id = accepted.json().value("run_id", "");
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 60s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent.log().dump_tail();
  EXPECT_TRUE(std::filesystem::exists(ws_.dir() / "objects" / run.value("s3_key", "")));

  // SIGHUP reads the YAML under the same rule (no tls:) and keeps serving the dev certificate.
  cp.reload(options().agent_config_yaml);
  ASSERT_TRUE(cp.log().wait_for(event_is("config_reloaded"), 10s)) << cp.log().dump_tail();
  EXPECT_EQ(cp.log().count(event_is("config_reload_failed")), 0u);
  EXPECT_EQ(cp.api("GET", "/healthz", "").status, 200);

  // A restart reuses the certificate: agents keep trusting the same file.
  const std::string pem_before = [&] {
    std::ifstream in(ca_file);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  agent.stop_gracefully();
  cp.restart();
  const auto reused = cp.log().wait_for(event_is("dev_tls"), 5s);
  ASSERT_TRUE(reused);
  EXPECT_FALSE(reused->value("generated", true));
  std::ifstream in(ca_file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
            pem_before);
}

TEST_F(DevModeTest, AnAgentTrustingAnotherCaIsRefused) {
  ControlPlane cp(ws_, options());
  // The fixture's default: the test PKI's CA, which did not sign the dev certificate.
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  const auto failure = agent.log().wait_for(msg_is("cannot reach control plane"), 20s);
  ASSERT_TRUE(failure) << agent.log().dump_tail();
  EXPECT_NE(failure->value("reason", "").find("certificate verify failed"), std::string::npos)
      << failure->dump();
}

TEST_F(DevModeTest, DevModeWithATlsSectionIsRefusedWithTheReason) {
  const std::filesystem::path yaml = ws_.dir() / "cp.yaml";
  std::ofstream(yaml) << "listen: \"127.0.0.1:0\"\n"
                      << "tls:\n"
                      << "  cert_file: " << (ws_.pki() / "server.crt").string() << "\n"
                      << "  key_file: " << (ws_.pki() / "server.key").string() << "\n";
  const CommandResult result =
      run_command({BACKUPY_CONTROL_PLANE_BIN, "serve", "--config", yaml.string(), "--dev"}, {});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(yaml.string() + ":2: tls must not be given with serve --dev"),
            std::string::npos)
      << result.err;
  EXPECT_FALSE(std::filesystem::exists(ws_.dir() / "dev-tls"));
}

}  // namespace
}  // namespace backupy::testing
