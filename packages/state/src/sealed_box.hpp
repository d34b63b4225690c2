#pragma once
// Secrets at rest in the state database: crypto's sealed box under a key derived from the
// agent key (salt "backupy-agent/state/v1"; each store passes its own HKDF info).
#include <string_view>

#include "backupy/crypto/sealed_box.hpp"

namespace backupy::state::detail {

using crypto::seal;
using crypto::SealingKey;
using crypto::unseal;

// Wipe the result (crypto::secure_wipe) when done with it.
inline SealingKey derive_sealing_key(std::string_view agent_key, std::string_view info) {
  return crypto::derive_sealing_key(agent_key, "backupy-agent/state/v1", info);
}

}  // namespace backupy::state::detail
