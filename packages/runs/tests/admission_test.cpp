#include "admission.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "backup/v1/agent.pb.h"
#include "backupy/drivers/driver.hpp"
#include "backupy/drivers/registry.hpp"
#include "backupy/runs/run_manager.hpp"

namespace backupy::runs::detail {
namespace {

constexpr std::uint64_t kNowMs = 1'700'000'000'123;  // 2023-11-14T22:13:20.123Z
constexpr char kHooksDisabled[] =
    "job \"j1\" has hooks, but hooks are disabled on this agent (the operator enables them "
    "with BACKUPY_HOOKS=enabled)";
constexpr char kNoCreds[] =
    "RunBackup carries no upload credentials (presigned_put_url and final_s3_key are required)";

// Never called: admission only asks the registry whether an engine is supported.
class NullDriver : public drivers::Driver {
 public:
  std::string probe() override { return "SQLite 0.0.0"; }
  void dump(stream::ByteSink&, std::stop_token) override {}
};

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() {
    drivers_.add(backup::v1::SQLITE,
                 [](const drivers::DumpContext&) { return std::make_unique<NullDriver>(); });

    config_.set_version(7);
    auto* sqlite = config_.add_targets();
    sqlite->set_id("t1");
    sqlite->set_type(backup::v1::SQLITE);
    sqlite->set_display_name("local sqlite");
    auto* postgres = config_.add_targets();
    postgres->set_id("pg");
    postgres->set_type(backup::v1::POSTGRESQL);

    auto* job = config_.add_jobs();
    job->set_id("j1");
    job->set_target_id("t1");
    job->set_cron("0 3 * * *");
    job->set_compression("zstd");
    job->set_timeout_sec(600);

    command_.set_job_id("j1");
    command_.set_run_id("r1");
    auto* creds = command_.mutable_upload_creds();
    creds->set_presigned_put_url("https://s3.example.test/bucket/key?X-Amz-Signature=abc");
    creds->set_final_s3_key("backups/j1/r1.bkpy");
    creds->set_expires_at_ms(kNowMs + 60'000);
  }

  backup::v1::BackupJobSpec& job() { return *config_.mutable_jobs(0); }

  Admission admit_now() { return admit(command_, config_, options_, drivers_, kNowMs); }

  // The refusal, or "<admitted>" so a failed expectation shows what happened.
  std::string refusal() {
    const Admission admission = admit_now();
    return admission.refusal.value_or("<admitted>");
  }

  drivers::DriverRegistry drivers_;
  backup::v1::AgentConfig config_;
  backup::v1::RunBackup command_;
  RunManagerOptions options_;
};

TEST_F(AdmissionTest, HappyPathCopiesJobAndTarget) {
  const Admission admission = admit_now();
  ASSERT_FALSE(admission.refusal.has_value()) << *admission.refusal;
  EXPECT_EQ(admission.job.id(), "j1");
  EXPECT_EQ(admission.job.target_id(), "t1");
  EXPECT_EQ(admission.job.cron(), "0 3 * * *");
  EXPECT_EQ(admission.job.compression(), "zstd");
  EXPECT_EQ(admission.job.timeout_sec(), 600u);
  EXPECT_EQ(admission.target.id(), "t1");
  EXPECT_EQ(admission.target.type(), backup::v1::SQLITE);
  EXPECT_EQ(admission.target.display_name(), "local sqlite");

  // Copies: a later config change does not reach the admitted run.
  job().set_compression("gzip");
  config_.mutable_targets(0)->set_display_name("renamed");
  config_.clear_jobs();
  EXPECT_EQ(admission.job.compression(), "zstd");
  EXPECT_EQ(admission.target.display_name(), "local sqlite");
}

TEST_F(AdmissionTest, PicksTheJobAndTargetNamedByTheCommand) {
  auto* other_target = config_.add_targets();
  other_target->set_id("t2");
  other_target->set_type(backup::v1::SQLITE);
  other_target->set_display_name("second");
  auto* other_job = config_.add_jobs();
  other_job->set_id("j2");
  other_job->set_target_id("t2");
  other_job->set_compression("none");
  command_.set_job_id("j2");

  const Admission admission = admit_now();
  ASSERT_FALSE(admission.refusal.has_value()) << *admission.refusal;
  EXPECT_EQ(admission.job.id(), "j2");
  EXPECT_EQ(admission.job.compression(), "none");
  EXPECT_EQ(admission.target.id(), "t2");
  EXPECT_EQ(admission.target.display_name(), "second");
}

TEST_F(AdmissionTest, RefusesUnknownJobNamingTheConfigVersion) {
  command_.set_job_id("nope");
  EXPECT_EQ(refusal(), "job \"nope\" is not in this agent's configuration (version 7)");

  config_.set_version(42);
  EXPECT_EQ(refusal(), "job \"nope\" is not in this agent's configuration (version 42)");
}

TEST_F(AdmissionTest, RefusesUnknownJobInAnEmptyConfig) {
  config_.clear_jobs();
  config_.clear_targets();
  config_.set_version(0);
  EXPECT_EQ(refusal(), "job \"j1\" is not in this agent's configuration (version 0)");
}

TEST_F(AdmissionTest, UnknownJobIdIsEscapedInTheMessage) {
  command_.set_job_id(std::string("a\"b\\c\nd\x01", 8));
  EXPECT_EQ(refusal(),
            "job \"a\\\"b\\\\c\\x0ad\\x01\" is not in this agent's configuration (version 7)");
}

TEST_F(AdmissionTest, RefusesJobWhoseTargetIsMissing) {
  job().set_target_id("gone");
  EXPECT_EQ(refusal(),
            "job \"j1\" names target \"gone\", which is not in this agent's configuration");
}

TEST_F(AdmissionTest, RefusesEngineWithoutDriver) {
  job().set_target_id("pg");
  EXPECT_EQ(refusal(), "no driver for postgresql in this agent build (target \"pg\")");
}

TEST_F(AdmissionTest, RefusesEngineWithoutDriverForUnspecifiedType) {
  config_.mutable_targets(0)->set_type(backup::v1::DB_UNSPECIFIED);
  EXPECT_EQ(refusal(), "no driver for unspecified in this agent build (target \"t1\")");
}

TEST_F(AdmissionTest, RefusesUnknownCompression) {
  job().set_compression("lz4");
  EXPECT_EQ(refusal(),
            "job \"j1\" asks for compression \"lz4\"; this agent supports zstd, gzip and none");
}

TEST_F(AdmissionTest, AcceptsEverySupportedCompression) {
  for (const char* codec : {"zstd", "gzip", "none", ""}) {
    job().set_compression(codec);
    EXPECT_EQ(refusal(), "<admitted>") << "compression \"" << codec << "\"";
  }
}

TEST_F(AdmissionTest, RefusesWrongSizedDataKeyWhenEncrypting) {
  job().set_encryption_enabled(true);
  for (const std::size_t size : {0u, 17u, 31u, 33u}) {
    command_.set_encrypted_dek(std::string(size, '\x5a'));
    EXPECT_EQ(refusal(), "RunBackup carries a " + std::to_string(size) +
                             "-byte data key; encryption needs exactly 32 bytes")
        << size << " bytes";
  }
}

TEST_F(AdmissionTest, AcceptsThirtyTwoByteDataKeyWhenEncrypting) {
  job().set_encryption_enabled(true);
  command_.set_encrypted_dek(std::string(32, '\0'));
  EXPECT_EQ(refusal(), "<admitted>");
}

TEST_F(AdmissionTest, IgnoresDataKeySizeWhenEncryptionIsDisabled) {
  job().set_encryption_enabled(false);
  for (const std::size_t size : {0u, 17u, 32u, 33u, 1000u}) {
    command_.set_encrypted_dek(std::string(size, '\x5a'));
    EXPECT_EQ(refusal(), "<admitted>") << size << " bytes";
  }
}

TEST_F(AdmissionTest, RefusesPreHooksWhenHooksAreDisabled) {
  options_.hooks_enabled = false;
  job().add_pre_hooks("/usr/local/bin/flush-caches");
  EXPECT_EQ(refusal(), kHooksDisabled);
}

TEST_F(AdmissionTest, RefusesPostHooksWhenHooksAreDisabled) {
  options_.hooks_enabled = false;
  job().add_post_hooks("/usr/local/bin/notify");
  EXPECT_EQ(refusal(), kHooksDisabled);
}

TEST_F(AdmissionTest, AcceptsHooksWhenHooksAreEnabled) {
  options_.hooks_enabled = true;
  job().add_pre_hooks("/usr/local/bin/flush-caches");
  job().add_post_hooks("/usr/local/bin/notify");
  const Admission admission = admit_now();
  ASSERT_FALSE(admission.refusal.has_value()) << *admission.refusal;
  ASSERT_EQ(admission.job.pre_hooks_size(), 1);
  EXPECT_EQ(admission.job.pre_hooks(0), "/usr/local/bin/flush-caches");
  ASSERT_EQ(admission.job.post_hooks_size(), 1);
  EXPECT_EQ(admission.job.post_hooks(0), "/usr/local/bin/notify");
}

TEST_F(AdmissionTest, RefusesMissingPresignedUrl) {
  command_.mutable_upload_creds()->clear_presigned_put_url();
  EXPECT_EQ(refusal(), kNoCreds);
}

TEST_F(AdmissionTest, RefusesMissingFinalKey) {
  command_.mutable_upload_creds()->clear_final_s3_key();
  EXPECT_EQ(refusal(), kNoCreds);
}

TEST_F(AdmissionTest, RefusesMissingCredentialsMessage) {
  command_.clear_upload_creds();
  EXPECT_EQ(refusal(), kNoCreds);
}

TEST_F(AdmissionTest, RefusesExpiredCredentialsWithTheirExpiryTime) {
  command_.mutable_upload_creds()->set_expires_at_ms(kNowMs - 1000);
  EXPECT_EQ(refusal(),
            "the upload credentials expired at 2023-11-14T22:13:19.123Z, before the run started");
}

TEST_F(AdmissionTest, CredentialsExpiringExactlyNowAreExpired) {
  command_.mutable_upload_creds()->set_expires_at_ms(kNowMs);
  EXPECT_EQ(refusal(),
            "the upload credentials expired at 2023-11-14T22:13:20.123Z, before the run started");

  command_.mutable_upload_creds()->set_expires_at_ms(kNowMs + 1);
  EXPECT_EQ(refusal(), "<admitted>");
}

TEST_F(AdmissionTest, ZeroExpiryMeansUnknownAndIsAccepted) {
  command_.mutable_upload_creds()->set_expires_at_ms(0);
  EXPECT_EQ(refusal(), "<admitted>");
}

TEST_F(AdmissionTest, ReportsTheFirstProblemOnly) {
  // Unsupported compression comes before the data key, hooks and credentials.
  job().set_compression("lz4");
  job().set_encryption_enabled(true);
  job().add_pre_hooks("/bin/true");
  command_.clear_upload_creds();
  EXPECT_EQ(refusal(),
            "job \"j1\" asks for compression \"lz4\"; this agent supports zstd, gzip and none");

  // An unknown job hides everything else.
  command_.set_job_id("other");
  EXPECT_EQ(refusal(), "job \"other\" is not in this agent's configuration (version 7)");
}

}  // namespace
}  // namespace backupy::runs::detail
