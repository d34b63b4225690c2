#include "decryption_token.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "backupy/crypto/crypto.hpp"
#include "base64.hpp"
#include "jwt.hpp"

namespace backupy::controlplane::detail {
namespace {

void wipe(std::string& text) {
  crypto::secure_wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

}  // namespace

std::string issue_decryption_token(const RunRecord& run, std::span<const std::uint8_t> signing_key,
                                   std::int64_t now_sec, std::uint32_t ttl_sec) {
  nlohmann::json claims = {
      {"iss", "backupy-server"},
      {"aud", "backupy-decrypt"},
      {"exp", now_sec + static_cast<std::int64_t>(ttl_sec)},
      {"iat", now_sec},
      {"sub", run.agent_id},
      {"run_id", run.run_id},
      {"company_id", "self-hosted"},
      {"dek", base64_encode(run.dek.bytes())},
      {"alg", "AES-256-GCM"},
      {"format_version", 1},
  };
  if (run.completed && is_sha256_hex(run.sha256)) {
    std::string hex = run.sha256;
    std::transform(hex.begin(), hex.end(), hex.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'F' ? c + 32 : c); });
    claims["sha256"] = hex;
  }
  std::string payload = claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string token = sign_hs256_jwt(payload, signing_key);
  // The key's text copies are not needed any more: do not leave them in freed memory.
  wipe(payload);
  wipe(claims["dek"].get_ref<std::string&>());
  return token;
}

}  // namespace backupy::controlplane::detail
