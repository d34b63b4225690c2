#pragma once
// HS256 JSON Web Tokens (RFC 7519), signing only (private to the package).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace backupy::controlplane::detail {

// "<base64url(header)>.<base64url(payload)>.<base64url(HMAC-SHA256(key, first two parts))>"
// with header {"alg":"HS256","typ":"JWT"}. payload_json must be a serialized JSON object.
std::string sign_hs256_jwt(std::string_view payload_json, std::span<const std::uint8_t> key);

}  // namespace backupy::controlplane::detail
