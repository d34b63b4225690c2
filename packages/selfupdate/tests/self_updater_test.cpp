// SelfUpdate end to end inside the package: refusals, then download over real TLS, signature
// and SHA-256 checks, the version probe and the install, answered by a deferred Ack.
#include "backupy/selfupdate/self_updater.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>

#include "backupy/crypto/crypto.hpp"
#include "backupy/selfupdate/install.hpp"
#include "backupy/test_support/release_signer.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_http_server.hpp"
#include "backupy/test_support/test_pki.hpp"

namespace backupy::selfupdate {
namespace {

using namespace std::chrono_literals;
using test_support::ReleaseSigner;
using test_support::Reply;
using test_support::TestHttpServer;

const std::string kCandidate =
    "#!/bin/sh\necho '{\"name\":\"backupy-agent\",\"version\":\"9.9.9\"}'\n";

class SelfUpdaterTest : public ::testing::Test {
 protected:
  SelfUpdaterTest() : key(work.path(), "release") {}

  // The DER signature of content, by signer.
  std::string sign(const ReleaseSigner& signer, const std::string& content) const {
    const auto file = work.path() / "to-sign";
    std::ofstream(file, std::ios::binary) << content;
    return signer.sign_der(file);
  }

  std::unique_ptr<SelfUpdater> make(bool enabled = true, bool with_key = true) {
    SelfUpdaterOptions options;
    options.state_dir = state.path();
    options.running_version = "1.0.0";
    if (with_key) {
      std::ifstream in(key.public_key_file());
      options.key = ReleaseKey::from_pem(
          std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
    options.download.ca_file = (pki / "ca.crt").string();
    options.download.idle_timeout = 2s;
    options.enabled = [enabled] { return enabled; };
    options.post = [this](std::function<void()> fn) {
      std::lock_guard lock(mutex);
      posted.push_back(std::move(fn));
      cv.notify_all();
    };
    options.send_ack = [this](backup::v1::Ack ack) { acks.push_back(std::move(ack)); };
    options.on_installed = [this](InstalledUpdate update) { installed.push_back(update); };
    return std::make_unique<SelfUpdater>(std::move(options));
  }

  // Runs what the worker posted (the "control thread") until an Ack arrived.
  backup::v1::Ack next_ack() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (acks.empty()) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mutex);
        if (!cv.wait_until(lock, deadline, [this] { return !posted.empty(); })) {
          throw std::runtime_error("no Ack within 20 s");
        }
        fn = std::move(posted.front());
        posted.pop_front();
      }
      fn();
    }
    backup::v1::Ack ack = acks.front();
    acks.erase(acks.begin());
    return ack;
  }

  backup::v1::SelfUpdate command(const std::string& url, const std::string& signature,
                                 const std::string& content = kCandidate) {
    backup::v1::SelfUpdate c;
    c.set_target_version("9.9.9");
    c.set_binary_url(url);
    c.set_sha256(crypto::sha256_hex(crypto::as_bytes(content)));
    c.set_cosign_signature(signature);
    return c;
  }

  std::string url(const TestHttpServer& server) const {
    return "https://localhost:" + std::to_string(server.port()) + "/agent?X-Amz-Signature=s3cr3t";
  }

  test_support::TempDir work;
  test_support::TempDir state;
  std::filesystem::path pki = test_support::test_pki();
  ReleaseSigner key;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> posted;
  std::vector<backup::v1::Ack> acks;
  std::vector<InstalledUpdate> installed;
};

TEST_F(SelfUpdaterTest, RefusesAtOnceWhatItMustNotTry) {
  const std::string sig = sign(key, kCandidate);
  const auto refused = [&](SelfUpdater& updater, backup::v1::SelfUpdate c) {
    const auto ack = updater.handle("c-1", c);
    EXPECT_TRUE(ack.has_value());
    if (!ack) return std::string();
    EXPECT_FALSE(ack->accepted());
    return ack->reason();
  };
  const auto good = command("https://localhost:1/agent", sig);

  EXPECT_EQ(refused(*make(false), good),
            "self-update is disabled (advanced.auto_update_enabled is false and force is not "
            "set)");
  EXPECT_EQ(refused(*make(true, false), good),
            "no release signing key is configured (BACKUPY_UPDATE_PUBLIC_KEY_FILE)");
  auto updater = make();
  auto c = good;
  c.set_target_version("latest");
  EXPECT_EQ(refused(*updater, c), "target_version \"latest\" is not a release version (X.Y.Z)");
  c = good;
  c.set_target_version("1.0.0");
  EXPECT_EQ(refused(*updater, c),
            "version 1.0.0 is not newer than the running 1.0.0 (set force to install it anyway)");
  c = good;
  c.set_binary_url("http://localhost:1/agent");
  EXPECT_EQ(refused(*updater, c).rfind("binary_url must be an https:// URL", 0), 0u);
  c = good;
  c.set_sha256("abc");
  EXPECT_EQ(refused(*updater, c), "sha256 must be 64 hex digits");
  c = good;
  c.set_cosign_signature("");
  EXPECT_EQ(refused(*updater, c), "cosign_signature is empty");
  EXPECT_TRUE(posted.empty());  // nothing was started
}

TEST_F(SelfUpdaterTest, ForceOverridesTheSwitchAndTheVersionOrder) {
  TestHttpServer server({Reply{.status = 404, .body = "no"}}, pki);
  auto updater = make(false);
  auto c = command(url(server), sign(key, kCandidate));
  c.set_force(true);
  c.set_target_version("0.9.0");  // a downgrade
  EXPECT_FALSE(updater->handle("c-1", c).has_value());
  const auto ack = next_ack();
  EXPECT_FALSE(ack.accepted());  // the 404, not a refusal
  EXPECT_NE(ack.reason().find("404"), std::string::npos) << ack.reason();
}

TEST_F(SelfUpdaterTest, DownloadsVerifiesProbesAndInstalls) {
  TestHttpServer server({Reply{.status = 200, .body = kCandidate}}, pki);
  auto updater = make();
  EXPECT_FALSE(updater->handle("c-7", command(url(server), sign(key, kCandidate))));
  const auto ack = next_ack();
  EXPECT_TRUE(ack.accepted()) << ack.reason();
  EXPECT_EQ(ack.correlation_id(), "c-7");
  EXPECT_EQ(ack.reason(), "verified version 9.9.9; switching to it once no run is active");
  ASSERT_EQ(installed.size(), 1u);
  EXPECT_EQ(installed[0].version, "9.9.9");
  EXPECT_EQ(installed[0].binary, update_bin_dir(state.path()) / "backupy-agent-9.9.9");
  std::ifstream in(installed[0].binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()),
            kCandidate);
  // One update per process life once installed: the switch is pending.
  const auto again = updater->handle("c-8", command(url(server), "sig"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reason(), "another self-update is in progress");
}

TEST_F(SelfUpdaterTest, ABadSignatureIsRejectedAndNothingIsInstalled) {
  TestHttpServer server({Reply{.status = 200, .body = kCandidate}}, pki);
  const ReleaseSigner other(work.path(), "other");
  auto updater = make();
  EXPECT_FALSE(updater->handle("c-9", command(url(server), sign(other, kCandidate))));
  const auto ack = next_ack();
  EXPECT_FALSE(ack.accepted());
  EXPECT_EQ(ack.correlation_id(), "c-9");
  EXPECT_EQ(ack.reason().rfind("verification failed: ", 0), 0u) << ack.reason();
  EXPECT_NE(ack.reason().find("signature"), std::string::npos) << ack.reason();
  EXPECT_EQ(ack.reason().find("s3cr3t"), std::string::npos);
  EXPECT_TRUE(installed.empty());
  EXPECT_FALSE(std::filesystem::exists(download_path(state.path())));
  EXPECT_FALSE(std::filesystem::exists(update_bin_dir(state.path()) / "backupy-agent-9.9.9"));

  // A tampered binary with a signature over the original fails on its SHA-256 instead, and
  // the updater takes a new command after a failure.
  const std::string tampered = kCandidate + "# extra\n";
  TestHttpServer evil({Reply{.status = 200, .body = tampered}}, pki);
  EXPECT_FALSE(updater->handle("c-10", command(url(evil), sign(key, kCandidate))));
  const auto second = next_ack();
  EXPECT_FALSE(second.accepted());
  EXPECT_NE(second.reason().find("sha256 mismatch"), std::string::npos) << second.reason();
  EXPECT_TRUE(installed.empty());
}

TEST_F(SelfUpdaterTest, ABinaryThatCallsItselfAnotherVersionIsNotInstalled) {
  const std::string mislabelled = "#!/bin/sh\necho '{\"version\":\"9.9.8\"}'\n";
  TestHttpServer server({Reply{.status = 200, .body = mislabelled}}, pki);
  auto updater = make();
  EXPECT_FALSE(updater->handle("c-11", command(url(server), sign(key, mislabelled), mislabelled)));
  const auto ack = next_ack();
  EXPECT_FALSE(ack.accepted());
  EXPECT_EQ(ack.reason(), "the new binary says it is version 9.9.8, not 9.9.9");
  EXPECT_TRUE(installed.empty());
}

}  // namespace
}  // namespace backupy::selfupdate
