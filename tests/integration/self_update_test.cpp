// Self-update end to end (docs/self-update.md): the real control plane sends SelfUpdate through
// its operator API, the real agent downloads the release over real TLS, checks its SHA-256 and
// its ECDSA P-256 signature (made by the openssl CLI), switches binaries once no run is active
// (same PID: re-exec) and confirms its health by registering again — or rolls back.
//
// The release is a signed wrapper script that execs the agent under test: the sanitizer build
// of the agent is ~330 MB, which would make every test a large transfer; everything that
// matters (download, checks, exec, trial, confirmation, rollback) runs the real code either
// way, and the start-up logic that tells a trial boot from a crash uses the environment, not
// the binary's path.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "backupy/test_support/release_signer.hpp"
#include "backupy/test_support/s3_server.hpp"
#include "backupy/test_support/test_http_server.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

using test_support::ReleaseSigner;
using test_support::Reply;
using test_support::TestHttpServer;

const std::string kAdminToken = "self-update-admin-token-9c1e";

class SelfUpdateTest : public ::testing::Test {
 protected:
  SelfUpdateTest() : signer_(ws_.dir(), "release") {}

  // Self-update on; the job's pre-hook holds a run until the gate opens.
  ControlPlaneOptions options(const std::string& storage_endpoint) const {
    return orders_.options(kAdminToken, storage_endpoint,
                           "advanced: {auto_update_enabled: true}\n");
  }

  // The control plane and the agent, connected (the test then owns both).
  void connect(ControlPlane& cp, Agent& agent) const {
    agent.start();
    ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();
  }

  AgentOptions agent_options(const ControlPlane& cp) const {
    return {.server_url = cp.url(),
            .extra_env = {{"BACKUPY_HOOKS", "enabled"},
                          {"BACKUPY_UPDATE_PUBLIC_KEY_FILE", signer_.public_key_file().string()},
                          {"BACKUPY_UPDATE_TRIAL_SEC", "5"}}};
  }

  // A release: a script (signed) that behaves like the agent; body runs before the exec.
  std::filesystem::path release(const std::string& name, const std::string& body = "") const {
    const auto file = ws_.dir() / name;
    std::ofstream(file) << "#!/bin/sh\n" << body << "exec " << BACKUPY_AGENT_BIN << " \"$@\"\n";
    ::chmod(file.c_str(), 0755);
    return file;
  }

  std::string running_version(const Agent& agent) const {
    const CommandResult version = agent.command({"version", "--json"});
    return Json::parse(version.out, nullptr, false).value("version", "");
  }

  // POST /v1/agents/agent-1/self-update; returns the correlation id (empty on failure).
  std::string request_update(const ControlPlane& cp, const TestHttpServer& server,
                             const std::string& version, const std::string& content,
                             const std::string& signature, bool force = true) const {
    const Json body = {{"target_version", version},
                       {"binary_url", "https://localhost:" + std::to_string(server.port()) +
                                          "/releases/backupy-agent?X-Amz-Signature=f00dfeed"},
                       {"sha256", sha256_hex(content)},
                       {"signature", signature},
                       {"force", force}};
    const ApiReply reply =
        cp.api("POST", "/v1/agents/agent-1/self-update", kAdminToken, body.dump());
    EXPECT_EQ(reply.status, 202) << reply.body;
    return reply.json().value("correlation_id", "");
  }

  // The agent's answer to a request, as GET /v1/agents/agent-1/self-update shows it.
  Json wait_for_answer(const ControlPlane& cp, const std::string& correlation_id) const {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    Json request;
    while (std::chrono::steady_clock::now() < deadline) {
      const ApiReply reply = cp.api("GET", "/v1/agents/agent-1/self-update", kAdminToken);
      for (const Json& r : reply.json().value("requests", Json::array())) {
        if (r.value("correlation_id", "") == correlation_id) request = r;
      }
      if (request.value("answered", false)) return request;
      std::this_thread::sleep_for(100ms);
    }
    return request;
  }

  // The agent's answer, which must be an acceptance.
  ::testing::AssertionResult accepted(const ControlPlane& cp, const std::string& correlation_id,
                                      Agent& agent) const {
    const Json answer = wait_for_answer(cp, correlation_id);
    if (answer.value("answered", false) && answer["accepted"] == true) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << answer.dump() << "\n" << agent.log().dump_tail();
  }

  std::string start_held_run(const ControlPlane& cp) const {
    const ApiReply accepted = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
    EXPECT_EQ(accepted.status, 202) << accepted.body;
    const std::string run_id = accepted.json().value("run_id", "");
    const Json held = cp.wait_for_run(
        run_id, kAdminToken,
        [](const Json& r) { return r.value("current_step", "") == "pre_hooks"; }, 30s);
    EXPECT_EQ(held.value("current_step", ""), "pre_hooks") << held.dump();
    return run_id;
  }

  Json update_state(const Agent& agent) const {
    return Json::parse(slurp(agent.state_dir() / "update" / "state.json"), nullptr, false);
  }

  Workspace ws_;
  GatedOrders orders_{ws_, 200};
  ReleaseSigner signer_;
};

TEST_F(SelfUpdateTest, ABadSignatureIsRejectedAndTheAgentCarriesOn) {
  ControlPlane cp(ws_, options("http://127.0.0.1:1"));
  Agent agent(ws_, agent_options(cp));
  ASSERT_NO_FATAL_FAILURE(connect(cp, agent));
  const pid_t pid = agent.process().pid();

  const auto file = release("release.sh");
  const std::string content = slurp(file);
  TestHttpServer server({Reply{.status = 200, .body = content}}, ws_.pki());
  const ReleaseSigner stranger(ws_.dir(), "stranger");
  const std::string id =
      request_update(cp, server, running_version(agent), content, stranger.sign_base64(file));
  const Json answer = wait_for_answer(cp, id);
  ASSERT_TRUE(answer.value("answered", false)) << answer.dump() << agent.log().dump_tail();
  EXPECT_FALSE(answer.value("accepted", true)) << answer.dump();
  const std::string reason = answer.value("reason", "");
  EXPECT_EQ(reason.rfind("verification failed: ", 0), 0u) << reason;
  EXPECT_NE(reason.find("signature"), std::string::npos) << reason;

  // Nothing was installed or switched; the presigned URL's signature appears nowhere.
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(agent.state_dir() / "update" / "bin" /
                                       ("backupy-agent-" + running_version(agent))));
  EXPECT_FALSE(std::filesystem::exists(agent.state_dir() / "update" / "state.json"));
  EXPECT_TRUE(agent.process().running());
  EXPECT_EQ(agent.process().pid(), pid);
  EXPECT_EQ(agent.log().count(msg_is("switching binaries")), 0u);
  const LinePredicate leaks = [](const Json& line) {
    return line.dump().find("f00dfeed") != std::string::npos;
  };
  EXPECT_EQ(agent.log().count(leaks), 0u);
  EXPECT_EQ(cp.log().count(leaks), 0u);
  EXPECT_EQ(slurp(ws_.dir() / "agent.stderr").find("f00dfeed"), std::string::npos);

  // A good signature over the same bytes is then accepted: the failure left nothing behind.
  const std::string retry =
      request_update(cp, server, running_version(agent), content, signer_.sign_base64(file));
  EXPECT_TRUE(accepted(cp, retry, agent));
}

TEST_F(SelfUpdateTest, TheSwitchWaitsForTheRunThenTheNewBinaryConfirmsItsHealth) {
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  Agent agent(ws_, agent_options(cp));
  ASSERT_NO_FATAL_FAILURE(connect(cp, agent));
  const pid_t pid = agent.process().pid();
  const std::string version = running_version(agent);
  const std::string run_id = start_held_run(cp);

  const auto file = release("release.sh");
  const std::string content = slurp(file);
  TestHttpServer server({Reply{.status = 200, .body = content}}, ws_.pki());
  const std::string id = request_update(cp, server, version, content, signer_.sign_base64(file));
  ASSERT_TRUE(accepted(cp, id, agent));
  EXPECT_EQ(wait_for_answer(cp, id).value("reason", ""),
            "verified version " + version + "; switching to it once no run is active");

  // Installed, but the run is still in its pre-hook: no switch yet.
  const auto installed = agent.state_dir() / "update" / "bin" / ("backupy-agent-" + version);
  EXPECT_EQ(slurp(installed), content);
  std::this_thread::sleep_for(1s);  // several idle checks: it must keep waiting
  EXPECT_EQ(agent.log().count(msg_is("switching binaries")), 0u) << agent.log().dump_tail();

  orders_.open_gate();
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 60s);
  EXPECT_EQ(run.value("status", ""), "success") << run.dump();
  ASSERT_TRUE(agent.log().wait_for(msg_is("self-update confirmed healthy"), 60s))
      << agent.log().dump_tail();

  // The same process (re-exec), started twice, registered twice; the switch came after the run.
  EXPECT_TRUE(agent.process().running());
  EXPECT_EQ(agent.process().pid(), pid);
  EXPECT_EQ(agent.log().count(msg_is("starting backupy-agent")), 2u);
  EXPECT_GE(cp.log().count(event_is("register")), 2u);
  const auto lines = agent.log().all([](const Json& line) {
    const std::string msg = line.value("msg", "");
    return msg == "run completed" || msg == "switching binaries";
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].value("msg", ""), "run completed");
  const Json state = update_state(agent);
  EXPECT_EQ(state.value("phase", ""), "confirmed") << state.dump();
  EXPECT_EQ(state.value("version", ""), version);

  // A restart by the supervisor starts the base binary, whose version equals the installed
  // one: the base wins (an image upgrade), and the installed update is dropped.
  agent.stop_gracefully();
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_contains("is not older than the installed update"), 20s))
      << agent.log().dump_tail();
  ASSERT_TRUE(cp.log().wait_for_count(event_is("register"), 3, 20s)) << cp.log().dump_tail();
  EXPECT_FALSE(std::filesystem::exists(agent.state_dir() / "update" / "state.json"));
  EXPECT_FALSE(std::filesystem::exists(installed));
}

TEST_F(SelfUpdateTest, ABinaryThatCannotRegisterInTimeIsRolledBack) {
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  Agent agent(ws_, agent_options(cp));
  ASSERT_NO_FATAL_FAILURE(connect(cp, agent));
  const pid_t pid = agent.process().pid();
  const std::string run_id = start_held_run(cp);

  const auto file = release("release.sh");
  const std::string content = slurp(file);
  TestHttpServer server({Reply{.status = 200, .body = content}}, ws_.pki());
  const std::string id =
      request_update(cp, server, running_version(agent), content, signer_.sign_base64(file));
  ASSERT_TRUE(accepted(cp, id, agent));

  // The control plane goes away before the run ends: the new binary can never register.
  cp.kill();
  orders_.open_gate();
  ASSERT_TRUE(agent.log().wait_for(msg_is("switching binaries"), 60s)) << agent.log().dump_tail();
  ASSERT_TRUE(agent.log().wait_for(msg_is("self-update rolled back"), 30s))
      << agent.log().dump_tail();
  const Json rolled = update_state(agent);
  EXPECT_EQ(rolled.value("phase", ""), "rolled_back") << rolled.dump();
  EXPECT_EQ(rolled.value("reason", ""),
            "version " + running_version(agent) +
                " was not confirmed healthy within 5 s (it did not register with the control "
                "plane)");
  // Back on the previous binary, in the same process: started three times in all.
  EXPECT_TRUE(agent.log().wait_for_count(msg_is("starting backupy-agent"), 3, 20s))
      << agent.log().dump_tail();
  EXPECT_EQ(agent.process().pid(), pid);
  EXPECT_TRUE(agent.process().running());
  EXPECT_EQ(::access(("/proc/" + std::to_string(pid) + "/exe").c_str(), F_OK), 0);
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe"),
            std::filesystem::path(BACKUPY_AGENT_BIN));

  // The control plane returns: the agent registers, reports the rollback upstream (a LogEvent
  // in the catalog) and delivers the run it finished alone.
  cp.restart();
  ASSERT_TRUE(agent.log().wait_for(msg_is("self-update was rolled back"), 30s))
      << agent.log().dump_tail();
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 30s);
  EXPECT_EQ(run.value("status", ""), "success") << run.dump();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  long long reported = 0;
  while ((reported = catalog_count(cp.catalog(),
                                   "SELECT count(*) FROM log_events WHERE message = "
                                   "'self-update was rolled back'")) < 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(reported, 1);
  EXPECT_FALSE(std::filesystem::exists(agent.state_dir() / "update" / "state.json"));
}

TEST_F(SelfUpdateTest, ABinaryThatDiesOnItsTrialIsRolledBackByTheNextStart) {
  ControlPlane cp(ws_, options("http://127.0.0.1:1"));
  Agent agent(ws_, agent_options(cp));
  ASSERT_NO_FATAL_FAILURE(connect(cp, agent));

  // Answers `version` like the agent (the probe passes), dies at once when run.
  const auto file = release("crashing.sh", "[ \"$1\" = version ] || exit 3\n");
  const std::string content = slurp(file);
  TestHttpServer server({Reply{.status = 200, .body = content}}, ws_.pki());
  const std::string id =
      request_update(cp, server, running_version(agent), content, signer_.sign_base64(file));
  ASSERT_TRUE(accepted(cp, id, agent));
  EXPECT_EQ(agent.process().wait(30s), std::optional<int>(3)) << agent.log().dump_tail();
  EXPECT_EQ(update_state(agent).value("phase", ""), "trial");

  // The supervisor's restart (here: the test) finds the trial unconfirmed and rolls back.
  agent.start();
  ASSERT_TRUE(agent.log().wait_for(msg_is("self-update was rolled back"), 30s))
      << agent.log().dump_tail();
  const Json line = *agent.log().wait_for(msg_is("self-update was rolled back"), 1s);
  EXPECT_EQ(line.value("reason", ""),
            "version " + running_version(agent) + " stopped before it was confirmed healthy");
  EXPECT_FALSE(std::filesystem::exists(agent.state_dir() / "update" / "state.json"));
  EXPECT_TRUE(std::filesystem::is_empty(agent.state_dir() / "update" / "bin"));
}

}  // namespace
}  // namespace backupy::testing
