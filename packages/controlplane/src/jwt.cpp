#include "jwt.hpp"

#include "base64.hpp"
#include "hmac.hpp"

namespace backupy::controlplane::detail {

std::string sign_hs256_jwt(std::string_view payload_json, std::span<const std::uint8_t> key) {
  std::string signing_input = base64url_encode(std::string_view(R"({"alg":"HS256","typ":"JWT"})"));
  signing_input += '.';
  signing_input += base64url_encode(payload_json);
  const Digest mac = hmac_sha256(key, signing_input);
  return signing_input + '.' + base64url_encode(mac);
}

}  // namespace backupy::controlplane::detail
