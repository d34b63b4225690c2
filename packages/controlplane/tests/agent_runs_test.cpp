// Adopting agent-made runs (agent_cron.v1) without sockets: a ServerState with a registry, a
// key-wrapping key and no live session (so no RunBackup can go out).
#include "agent_runs.hpp"

#include <gtest/gtest.h>

#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/key_wrap.hpp"
#include "catalog.hpp"  // ServerState owns a unique_ptr<Catalog>
#include "fake_agents.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

using Envelope = backup::v1::Envelope;

class AgentRunsTest : public ::testing::Test {
 protected:
  AgentRunsTest() {
    ServerConfig config;
    config.agents = {testing::agent_with_jobs("agent-1", {"nightly"}),
                     testing::agent_with_jobs("agent-2", {"other"})};
    state_.registry = AgentRegistry(config.agents);
    state_.config = std::make_shared<const ServerConfig>(std::move(config));
    state_.key_wrapping = std::make_unique<KeyWrappingKey>(std::string(64, 'm'));
    state_.agent_cron_agents.insert("agent-1");
    dek_.fill(0x33);
  }

  crypto::Bytes wrap(const std::array<std::uint8_t, 32>& dek, const std::string& key_id) const {
    return crypto::wrap_dek(dek, state_.key_wrapping->public_key(), key_id);
  }

  static Envelope completed(const std::string& run_id, const crypto::Bytes& wrapped,
                            const std::string& key_id) {
    Envelope envelope;
    backup::v1::BackupCompleted* done = envelope.mutable_backup_completed();
    done->set_job_id("nightly");
    done->set_run_id(run_id);
    done->set_size_bytes(10);
    done->set_dek_kms_id(key_id);
    done->set_encrypted_dek(wrapped.data(), wrapped.size());
    return envelope;
  }

  testing::LogCapture logs_;
  ServerState state_;
  std::array<std::uint8_t, 32> dek_{};
};

TEST_F(AgentRunsTest, AJobUpdateOfAnUnknownRunAdoptsItAndBackupCompletedBringsTheKey) {
  Envelope update;
  *update.mutable_job_update() = testing::job_update("arun-1", backup::v1::RUNNING);
  prepare_agent_run_result(state_, "agent-1", update);
  RunRecord* run = state_.runs.find("arun-1");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->trigger, RunTrigger::agent);
  EXPECT_FALSE(run->dek_known);
  EXPECT_EQ(logs_.events("run_adopted").at(0).value("source", ""), "job_update");

  const std::string& key_id = state_.key_wrapping->key_id();
  prepare_agent_run_result(state_, "agent-1", completed("arun-1", wrap(dek_, key_id), key_id));
  EXPECT_TRUE(run->dek_known);
  EXPECT_EQ(run->dek_kms_id, key_id);
  EXPECT_TRUE(std::equal(dek_.begin(), dek_.end(), run->dek.bytes().begin()));

  // Another DEK for the same run: the first is kept.
  std::array<std::uint8_t, 32> other{};
  other.fill(0x44);
  prepare_agent_run_result(state_, "agent-1", completed("arun-1", wrap(other, key_id), key_id));
  EXPECT_TRUE(std::equal(dek_.begin(), dek_.end(), run->dek.bytes().begin()));
  EXPECT_EQ(logs_.events("dek_mismatch").size(), 1u);
}

TEST_F(AgentRunsTest, ACompletionWithoutAKeyFailsAnEncryptedJobsRunOnly) {
  ServerConfig config = *state_.config;
  config.agents[0].config.mutable_jobs(0)->set_encryption_enabled(true);  // agent-1 "nightly"
  state_.config = std::make_shared<const ServerConfig>(config);
  state_.registry = AgentRegistry(config.agents);

  prepare_agent_run_result(state_, "agent-1", completed("arun-5", {}, ""));
  const RunRecord* run = state_.runs.find("arun-5");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->status, RunStatus::failed);
  EXPECT_EQ(run->error,
            "cannot use the data key of agent run arun-5: BackupCompleted carries no wrapped "
            "data key, but job nightly is encrypted: the backup could never be decrypted");

  // An unencrypted job's run needs no key.
  config.agents[0].config.mutable_jobs(0)->set_encryption_enabled(false);
  state_.config = std::make_shared<const ServerConfig>(config);
  state_.registry = AgentRegistry(config.agents);
  prepare_agent_run_result(state_, "agent-1", completed("arun-6", {}, ""));
  ASSERT_NE(state_.runs.find("arun-6"), nullptr);
  EXPECT_NE(state_.runs.find("arun-6")->status, RunStatus::failed);
}

TEST_F(AgentRunsTest, OnlyAgentCronAgentsAndTheirOwnJobsAdopt) {
  Envelope update;
  *update.mutable_job_update() = testing::job_update("arun-2", backup::v1::RUNNING);
  prepare_agent_run_result(state_, "agent-2", update);  // v1 mode: an unknown run is noise
  EXPECT_EQ(state_.runs.find("arun-2"), nullptr);

  backup::v1::UploadCredsRequest request;
  request.set_job_id("other");  // agent-2's job
  request.set_run_id("arun-3");
  on_upload_creds_request(state_, "agent-1", request);
  EXPECT_EQ(state_.runs.find("arun-3"), nullptr);
  EXPECT_EQ(logs_.events("agent_run_refused").at(0).value("reason", ""),
            "job other is not configured for agent agent-1");

  request.set_job_id("nightly");
  request.set_run_id("bad/id");
  on_upload_creds_request(state_, "agent-1", request);
  EXPECT_EQ(state_.runs.size(), 0u);
}

TEST_F(AgentRunsTest, AKeyForAnotherKeyIdOrDamagedFailsTheRunWithTheReason) {
  backup::v1::UploadCredsRequest request;
  request.set_job_id("nightly");
  request.set_run_id("arun-4");
  request.set_dek_kms_id("x25519-ffffffffffffffff");
  const crypto::Bytes wrapped = wrap(dek_, "x25519-ffffffffffffffff");
  request.set_encrypted_dek(wrapped.data(), wrapped.size());
  on_upload_creds_request(state_, "agent-1", request);
  const RunRecord* run = state_.runs.find("arun-4");
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->status, RunStatus::failed);
  EXPECT_EQ(run->error,
            "cannot use the data key of agent run arun-4: the agent wrapped the data "
            "key to key id \"x25519-ffffffffffffffff\", but the control plane's "
            "key-wrapping key is " +
                state_.key_wrapping->key_id() + " (was the master key replaced?)");
  EXPECT_FALSE(run->dek_known);

  crypto::Bytes damaged = wrap(dek_, state_.key_wrapping->key_id());
  damaged[50] ^= 1;
  request.set_run_id("arun-5");
  request.set_dek_kms_id(state_.key_wrapping->key_id());
  request.set_encrypted_dek(damaged.data(), damaged.size());
  on_upload_creds_request(state_, "agent-1", request);
  ASSERT_NE(state_.runs.find("arun-5"), nullptr);
  EXPECT_NE(state_.runs.find("arun-5")->error.find("does not open under key"), std::string::npos);

  // A finished run is not answered again.
  on_upload_creds_request(state_, "agent-1", request);
  EXPECT_EQ(logs_.events("upload_creds_ignored").size(), 1u);
}

}  // namespace
}  // namespace backupy::controlplane::detail
