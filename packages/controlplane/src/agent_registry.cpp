#include "backupy/controlplane/agent_registry.hpp"

#include <openssl/crypto.h>

#include <cctype>

#include "backupy/crypto/crypto.hpp"

namespace backupy::controlplane {

std::string hash_agent_key(std::string_view key) {
  return crypto::sha256_hex(crypto::as_bytes(key));
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  auto trim = [](std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  };
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  const char separator = authorization[kScheme.size()];
  if (separator != ' ' && separator != '\t') return std::nullopt;
  std::string_view token = trim(authorization.substr(kScheme.size() + 1));
  if (token.empty()) return std::nullopt;
  return token;
}

AgentRegistry::AgentRegistry(std::vector<AgentEntry> agents) : agents_(std::move(agents)) {}

const AgentEntry* AgentRegistry::authenticate(std::string_view key) const {
  const std::string hash = hash_agent_key(key);
  const AgentEntry* match = nullptr;
  for (const AgentEntry& agent : agents_) {
    // key_sha256 is validated to be 64 lowercase hex characters, like hash.
    const bool equal = agent.key_sha256.size() == hash.size() &&
                       CRYPTO_memcmp(agent.key_sha256.data(), hash.data(), hash.size()) == 0;
    if (equal) match = &agent;
  }
  return match;
}

const AgentEntry* AgentRegistry::find(std::string_view agent_id) const {
  for (const AgentEntry& agent : agents_) {
    if (agent.id == agent_id) return &agent;
  }
  return nullptr;
}

}  // namespace backupy::controlplane
