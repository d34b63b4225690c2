#pragma once
// Agent authentication: the configured agents, found by the sha256 of their key.
//
// The server never stores or logs an agent key; only its sha256 hex is configured
// (`backupy-control-plane hash-key` computes it). Lookups compare the presented key's hash
// against every configured hash in constant time, so timing reveals nothing about them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/controlplane/server_config.hpp"

namespace backupy::controlplane {

// Lowercase sha256 hex of the key bytes, exactly as given.
std::string hash_agent_key(std::string_view key);

// The token of an "Authorization: Bearer <token>" header value (scheme case-insensitive,
// surrounding blanks ignored); nullopt if the header is not a non-empty bearer token.
std::optional<std::string_view> bearer_token(std::string_view authorization);

class AgentRegistry {
 public:
  AgentRegistry() = default;
  explicit AgentRegistry(std::vector<AgentEntry> agents);

  // The agent whose key_sha256 equals sha256(key), or nullptr. Constant time in the key
  // contents: all entries are always compared.
  const AgentEntry* authenticate(std::string_view key) const;
  const AgentEntry* find(std::string_view agent_id) const;
  const std::vector<AgentEntry>& agents() const { return agents_; }

 private:
  std::vector<AgentEntry> agents_;
};

}  // namespace backupy::controlplane
