#pragma once
// The agent's current AgentConfig and the rules for replacing it.
//
// A snapshot (RegisterAck.config or ConfigUpdate.config) is applied atomically
// or not at all: it is validated, persisted, and only then published to
// listeners. Versions are monotonic: an older version is ignored, the same
// version is a no-op (unless the stored copy lost its secrets to a key
// change). A rejected snapshot leaves the last good one in force.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/state/config_store.hpp"

namespace backupy::session {

using ConfigSnapshot = std::shared_ptr<const backup::v1::AgentConfig>;

struct ApplyOutcome {
  enum class Kind { applied, unchanged, stale, rejected };
  Kind kind = Kind::unchanged;
  std::string reason;  // for stale/rejected: one precise line, no secrets
  // Stale snapshots are not applied, so they are not "accepted" either.
  bool accepted() const { return kind == Kind::applied || kind == Kind::unchanged; }
};

class ConfigManager {
 public:
  // Loads the persisted snapshot (if any) so jobs are known before connecting.
  explicit ConfigManager(state::ConfigStore& store);

  ApplyOutcome apply(const backup::v1::AgentConfig& snapshot, std::string_view source);

  ConfigSnapshot current() const;  // never null; version 0 = none yet
  std::uint64_t version() const;
  // True when the stored config lost its secrets (agent key changed): the
  // next Register asks for a full config with last_known_config_version = 0.
  bool needs_fresh_config() const;

  // Called (on the applying thread) after every applied snapshot.
  void on_change(std::function<void(const ConfigSnapshot&)> listener);

 private:
  void publish(ConfigSnapshot snapshot);

  state::ConfigStore& store_;
  mutable std::mutex mutex_;
  ConfigSnapshot current_;
  bool needs_fresh_ = false;
  std::vector<std::function<void(const ConfigSnapshot&)>> listeners_;
};

}  // namespace backupy::session
