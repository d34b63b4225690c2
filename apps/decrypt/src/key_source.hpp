#pragma once
// Turns the chosen key option (--token, --token-file, --key-hex, --key-file)
// into the data key, plus the SHA-256 a token may carry.
#include <chrono>
#include <optional>
#include <string>

#include "backupy/token/data_key.hpp"
#include "options.hpp"

namespace backupy::decrypt {

struct ResolvedKey {
  token::DataKey key;
  std::optional<std::string> token_sha256;  // the token's sha256 claim (lowercase hex)
};

// Throws Failure with a precise message that never contains key material
// ("token expired at ...", "key file k.bin must hold 32 raw bytes or 64 hex
// characters, got 12 bytes").
ResolvedKey resolve_key(KeySource source, const std::string& value,
                        std::chrono::system_clock::time_point now);

}  // namespace backupy::decrypt
