#pragma once
// The backupy-decrypt token of a run (private to the package): an HS256 JWT carrying the run's
// data key, with exactly the claims packages/token parses:
//   iss "backupy-server", aud "backupy-decrypt", iat, exp = iat + ttl, sub = agent id, run_id,
//   company_id "self-hosted", dek = standard base64 (padded) of the 32 bytes,
//   alg "AES-256-GCM", format_version 1, sha256 = hex of the stored object (only once the
//   agent reported BackupCompleted with a well-formed digest).
#include <cstdint>
#include <span>
#include <string>

#include "run_store.hpp"

namespace backupy::controlplane::detail {

inline constexpr std::uint32_t kDefaultTokenTtlSec = 3600;
inline constexpr std::uint32_t kMaxTokenTtlSec = 30 * 24 * 3600;

std::string issue_decryption_token(const RunRecord& run, std::span<const std::uint8_t> signing_key,
                                   std::int64_t now_sec, std::uint32_t ttl_sec);

}  // namespace backupy::controlplane::detail
