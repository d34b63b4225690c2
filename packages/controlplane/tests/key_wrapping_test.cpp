// The control plane's key-wrapping key: derived from the master key (stable across restarts,
// another for another master key), published in AgentConfig, and able to open what an agent
// wraps to the published key.
#include "key_wrapping.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "agent_runs.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/key_wrap.hpp"

namespace backupy::controlplane::detail {
namespace {

const std::string kMasterKey(64, 'm');

TEST(KeyWrappingKeyTest, IsStableForAMasterKeyAndDiffersForAnother) {
  const KeyWrappingKey first(kMasterKey);
  const KeyWrappingKey again(kMasterKey);
  const KeyWrappingKey other(std::string(64, 'n'));
  EXPECT_EQ(first.public_key(), again.public_key());
  EXPECT_EQ(first.key_id(), again.key_id());
  EXPECT_NE(first.public_key(), other.public_key());
  EXPECT_NE(first.key_id(), other.key_id());
  EXPECT_TRUE(std::regex_match(first.key_id(), std::regex("x25519-[0-9a-f]{16}")));
  // key_id = "x25519-" + the first 16 hex of SHA-256(public key).
  EXPECT_EQ(first.key_id(),
            "x25519-" + core::to_hex(crypto::sha256(first.public_key())).substr(0, 16));
}

TEST(KeyWrappingKeyTest, IsTheDocumentedDerivation) {
  // private = HKDF-SHA256(master, "backupy-control-plane/key-wrapping/v1", "x25519", 32).
  const crypto::Bytes okm = crypto::hkdf_sha256(
      crypto::as_bytes(kMasterKey), crypto::as_bytes("backupy-control-plane/key-wrapping/v1"),
      crypto::as_bytes("x25519"), 32);
  std::array<std::uint8_t, 32> private_key{};
  std::copy(okm.begin(), okm.end(), private_key.begin());
  EXPECT_EQ(KeyWrappingKey(kMasterKey).public_key(), crypto::x25519_public_key(private_key));
}

TEST(KeyWrappingKeyTest, OpensWhatAnAgentWrapsToThePublishedKey) {
  const KeyWrappingKey key(kMasterKey);
  ServerConfig config;
  backup::v1::AgentConfig configured;
  configured.set_version(7);
  const backup::v1::AgentConfig published = published_config(configured, config, &key);
  EXPECT_EQ(published.version(), 7u);
  ASSERT_TRUE(published.has_key_wrapping());
  EXPECT_EQ(published.key_wrapping().key_id(), key.key_id());
  ASSERT_EQ(published.key_wrapping().x25519_public_key().size(), 32u);
  EXPECT_FALSE(published.has_advanced()) << "no jitter configured: nothing added";

  std::array<std::uint8_t, 32> recipient{};
  const std::string& raw = published.key_wrapping().x25519_public_key();
  std::copy(raw.begin(), raw.end(), recipient.begin());
  std::array<std::uint8_t, 32> dek{};
  dek.fill(0x42);
  const crypto::Bytes wrapped = crypto::wrap_dek(dek, recipient, published.key_wrapping().key_id());
  EXPECT_EQ(key.unwrap(wrapped), dek);
  EXPECT_FALSE(KeyWrappingKey(std::string(64, 'n')).unwrap(wrapped));
}

TEST(KeyWrappingKeyTest, JitterIsPublishedAndNoKeyMeansNoKeyWrapping) {
  ServerConfig config;
  config.scheduling.jitter_sec = 300;
  const backup::v1::AgentConfig published = published_config({}, config, nullptr);
  EXPECT_FALSE(published.has_key_wrapping());
  EXPECT_EQ(published.advanced().schedule_jitter_sec(), 300u);
}

TEST(AgentRunIdTest, AcceptsOnlyShortSafeNames) {
  EXPECT_TRUE(valid_agent_run_id("arun-0123456789abcdef"));
  EXPECT_TRUE(valid_agent_run_id("A.b_c-9"));
  EXPECT_TRUE(valid_agent_run_id(std::string(64, 'x')));
  EXPECT_FALSE(valid_agent_run_id(std::string(65, 'x')));
  EXPECT_FALSE(valid_agent_run_id(""));
  EXPECT_FALSE(valid_agent_run_id(".."));
  EXPECT_FALSE(valid_agent_run_id("a/b"));
  EXPECT_FALSE(valid_agent_run_id("a b"));
  EXPECT_FALSE(valid_agent_run_id("run\n1"));
}

}  // namespace
}  // namespace backupy::controlplane::detail
