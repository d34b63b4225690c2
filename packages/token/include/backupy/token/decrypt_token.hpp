#pragma once
// The backupy-decrypt token: an HS256 JWT issued by the server that carries
// the data key of one stored backup (contract: "backupy-decrypt token (JWT)").
//
// The CLI does not hold the server's HMAC secret, so the signature is NOT
// verified: the token is a transport for the key, not a proof of anything.
// Everything else is checked, so that a wrong or stale token fails with a
// precise reason instead of a later "authentication failed":
//   header    alg = "HS256"
//   iss       "backupy-server"
//   aud       "backupy-decrypt", or an array containing it
//   exp, iat  seconds since the epoch; expired when now >= exp (no leeway)
//   sub, run_id, company_id   non-empty strings
//   dek       standard base64 with padding of exactly 32 bytes
//   alg       "AES-256-GCM"
//   format_version   1
//   sha256    optional: 64 hex characters, the SHA-256 of the stored object
// A claim whose value is null counts as missing. Error messages never contain
// the key.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "backupy/token/data_key.hpp"

namespace backupy::token {

struct DecryptToken {
  std::string subject;
  std::string run_id;
  std::string company_id;
  std::int64_t issued_at = 0;   // seconds since the Unix epoch
  std::int64_t expires_at = 0;  // seconds since the Unix epoch
  DataKey dek;
  std::optional<std::string> sha256;  // lowercase hex, when the server recorded it
};

// Why a token was rejected, e.g. "token expired at 2026-11-22T03:37:57Z".
struct TokenError {
  std::string message;
};

// Parses and checks jwt (surrounding whitespace is ignored) at time now.
std::variant<DecryptToken, TokenError> parse_decrypt_token(
    std::string_view jwt, std::chrono::system_clock::time_point now);

// "2026-11-22T03:37:57Z" for seconds since the epoch.
std::string format_utc_seconds(std::int64_t epoch_seconds);

}  // namespace backupy::token
