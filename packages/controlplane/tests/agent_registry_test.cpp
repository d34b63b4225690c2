#include "backupy/controlplane/agent_registry.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace backupy::controlplane {
namespace {

using testing::kKeyA;
using testing::kKeyAHash;
using testing::kKeyB;
using testing::kKeyBHash;

TEST(HashAgentKey, IsLowercaseSha256Hex) {
  EXPECT_EQ(hash_agent_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_agent_key(kKeyA), kKeyAHash);
  EXPECT_EQ(hash_agent_key(kKeyB), kKeyBHash);
}

TEST(BearerToken, ExtractsTheToken) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER   abc  "), "abc");
  EXPECT_EQ(bearer_token(" Bearer\tabc"), "abc");
}

TEST(BearerToken, RejectsOtherForms) {
  EXPECT_FALSE(bearer_token(""));
  EXPECT_FALSE(bearer_token("Bearer"));
  EXPECT_FALSE(bearer_token("Bearer "));
  EXPECT_FALSE(bearer_token("Bearerabc"));
  EXPECT_FALSE(bearer_token("Basic YWJjOmRlZg=="));
  EXPECT_FALSE(bearer_token("abc"));
}

std::vector<AgentEntry> two_agents() {
  AgentEntry a;
  a.id = "agent-a";
  a.key_sha256 = std::string(kKeyAHash);
  AgentEntry b;
  b.id = "agent-b";
  b.key_sha256 = std::string(kKeyBHash);
  return {a, b};
}

TEST(AgentRegistry, AuthenticatesByKeyHash) {
  const AgentRegistry registry(two_agents());
  const AgentEntry* a = registry.authenticate(kKeyA);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->id, "agent-a");
  const AgentEntry* b = registry.authenticate(kKeyB);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->id, "agent-b");
}

TEST(AgentRegistry, RejectsUnknownKeys) {
  const AgentRegistry registry(two_agents());
  EXPECT_EQ(registry.authenticate(""), nullptr);
  EXPECT_EQ(registry.authenticate(std::string(63, 'a')), nullptr);
  EXPECT_EQ(registry.authenticate(kKeyA + " "), nullptr);
  // The hash itself is not a key.
  EXPECT_EQ(registry.authenticate(kKeyAHash), nullptr);
  EXPECT_EQ(AgentRegistry().authenticate(kKeyA), nullptr);
}

TEST(AgentRegistry, FindsById) {
  const AgentRegistry registry(two_agents());
  ASSERT_NE(registry.find("agent-b"), nullptr);
  EXPECT_EQ(registry.find("agent-b")->key_sha256, kKeyBHash);
  EXPECT_EQ(registry.find("agent-c"), nullptr);
}

}  // namespace
}  // namespace backupy::controlplane
