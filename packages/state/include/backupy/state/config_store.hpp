#pragma once
// Persists the last good AgentConfig snapshot so the agent knows its jobs at
// start-up, before (and without) reaching the control plane.
//
// Secrets (ConnectionConfig.password_secret_ref) never touch the disk in
// clear: they are sealed with AES-256-GCM under a key derived from the agent
// key with HKDF-SHA256 (salt "backupy-agent/state/v1", info
// "config-secrets"). If the agent key changes, the stored secrets cannot be
// opened: load() drops them, returns the rest with secrets_dropped = true, and
// the caller asks the control plane for a fresh config. Never a wedge.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "backupy/state/state_db.hpp"

namespace backupy::state {

struct StoredConfig {
  backup::v1::AgentConfig config;
  bool secrets_dropped = false;  // sealed with another agent key; secrets are empty
  std::uint64_t saved_at_ms = 0;
};

class ConfigStore {
 public:
  ConfigStore(StateDb& db, std::string_view agent_key);
  ~ConfigStore();  // wipes the derived key
  ConfigStore(const ConfigStore&) = delete;
  ConfigStore& operator=(const ConfigStore&) = delete;

  // Atomically replaces the stored snapshot. Throws StateError.
  void save(const backup::v1::AgentConfig& config);
  // The stored snapshot, or nullopt if none was ever saved. A key change is
  // not an error (secrets_dropped); an unreadable snapshot throws StateError.
  std::optional<StoredConfig> load();

 private:
  StateDb& db_;
  std::array<std::uint8_t, 32> key_;
};

}  // namespace backupy::state
