#pragma once
// The fixture of the in-process server tests (server_*_test.cpp): a real Server on a TLS
// listener at 127.0.0.1:0 with a generated configuration, its log captured, and the clients of
// wss_test_client.hpp.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>

#include "backup/v1/agent.pb.h"
#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/controlplane/delivery_tracker.hpp"
#include "backupy/controlplane/server.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/key_wrap.hpp"
#include "backupy/token/decrypt_token.hpp"
#include "backupy/wire/capabilities.hpp"
#include "test_support.hpp"
#include "wss_test_client.hpp"

namespace backupy::controlplane::server_test {

using Envelope = backup::v1::Envelope;
using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::AgentClient;
using testing::HttpReply;
using testing::https_get;
using testing::https_request;
using testing::kKeyA;
using testing::kKeyAHash;
using testing::kKeyB;
using testing::kKeyBHash;
using testing::TempDir;
using testing::write_text;

inline constexpr std::string_view kPassword = "pw-s3cret-123";

inline Envelope job_update(std::uint64_t outbox_seq,
                           backup::v1::JobStatus status = backup::v1::RUNNING) {
  Envelope envelope;
  envelope.set_outbox_seq(outbox_seq);
  backup::v1::JobUpdate* update = envelope.mutable_job_update();
  update->set_job_id("nightly");
  update->set_run_id("run-" + std::to_string(outbox_seq));
  update->set_status(status);
  update->set_progress_percent(50);
  if (status == backup::v1::FAILED) update->set_error_message("disk full");
  return envelope;
}

// ---------------------------------------------------------------------- fixture --

struct Knobs {
  std::uint32_t ping_interval_sec = 30;
  bool delivery_ack = true;
  std::uint64_t version = 3;
  bool with_agent_a = true;
  bool with_operator_api = false;  // admin token kAdminToken + storage
  bool local_storage = false;      // with_operator_api: storage type local instead of s3
  std::string cron = "0 3 * * *";  // agent-a's job "nightly"
};

inline const std::string kAdminToken = "operator-admin-token-42";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string command =
        "bash " + std::string(BACKUPY_TEST_PKI_SCRIPT) + " " + dir_.path().string();
    ASSERT_EQ(std::system(command.c_str()), 0);
  }

  void TearDown() override { stop_server(); }

  std::filesystem::path config_file() const { return dir_.path() / "cp.yaml"; }
  std::filesystem::path ca() const { return dir_.path() / "ca.crt"; }

  void write_config(const Knobs& knobs) {
    std::string yaml =
        "listen: \"127.0.0.1:0\"\n"
        "tls: {cert_file: server.crt, key_file: server.key}\n"
        "heartbeat_interval_sec: 15\n"
        "ping_interval_sec: " +
        std::to_string(knobs.ping_interval_sec) +
        "\n"
        "idle_timeout_sec: 60\n"
        "delivery_ack: " +
        std::string(knobs.delivery_ack ? "true" : "false") +
        "\n"
        "agents:\n";
    if (knobs.with_agent_a) {
      yaml +=
          "  - id: agent-a\n"
          "    key_sha256: \"" +
          std::string(kKeyAHash) +
          "\"\n"
          "    config:\n"
          "      version: " +
          std::to_string(knobs.version) +
          "\n"
          "      targets: [{id: pg1, type: postgresql, connection: {host: db, port: 5432,"
          " username: backup, password: \"" +
          std::string(kPassword) +
          "\"}}]\n"
          "      jobs: [{id: nightly, target_id: pg1, cron: \"" +
          knobs.cron + "\"}]\n";
    }
    yaml +=
        "  - id: agent-b\n"
        "    key_sha256: \"" +
        std::string(kKeyBHash) + "\"\n";
    if (knobs.with_operator_api) {
      yaml += "admin: {token_sha256: [\"" + hash_agent_key(kAdminToken) + "\"]}\n";
      yaml += knobs.local_storage
                  ? "storage: {type: local, dir: objects}\n"
                  : "storage: {type: s3, endpoint: \"http://127.0.0.1:9000\", region: us-east-1, "
                    "bucket: backups, access_key_id: AKID, secret_access_key_file: s3.secret}\n";
      write_text(dir_.path() / "s3.secret", "s3-secret-value");
    }
    write_text(config_file(), yaml);
  }

  void start(const Knobs& knobs = {}, ServerOptions options = {}) {
    write_config(knobs);
    options.config_file = config_file();
    options.handle_signals = false;
    server_ = std::make_unique<Server>(load_server_config(config_file()), options);
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { server_->run(); });
    ASSERT_TRUE(logs_.wait_for("listening"));
  }

  void stop_server() {
    if (!server_) return;
    server_->stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  AgentClient client() { return AgentClient(port_, ca()); }

  // No line may ever carry an agent key or a configured password.
  void expect_no_secrets_logged() {
    const std::string all = logs_.all();
    EXPECT_EQ(all.find(kKeyA), std::string::npos);
    EXPECT_EQ(all.find(kKeyB), std::string::npos);
    EXPECT_EQ(all.find(kPassword), std::string::npos);
  }

  testing::LogCapture logs_;  // first: outlives the server thread
  TempDir dir_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

}  // namespace backupy::controlplane::server_test
