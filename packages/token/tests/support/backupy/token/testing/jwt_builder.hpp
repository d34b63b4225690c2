#pragma once
// Builds backupy-decrypt tokens for tests (token_tests, decrypt_tests). The
// encoders are written here, independently of the package's decoders, so a
// shared misunderstanding of base64 cannot make both sides agree.
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

namespace backupy::token::testing {

inline std::string encode_base64(std::span<const std::uint8_t> bytes, bool url) {
  const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
    for (int shift : {18, 12, 6, 0}) out += alphabet[(group >> shift) & 0x3F];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t group = bytes[i] << 16;
    out += alphabet[(group >> 18) & 0x3F];
    out += alphabet[(group >> 12) & 0x3F];
    if (!url) out += "==";
  } else if (rest == 2) {
    const std::uint32_t group = bytes[i] << 16 | bytes[i + 1] << 8;
    out += alphabet[(group >> 18) & 0x3F];
    out += alphabet[(group >> 12) & 0x3F];
    out += alphabet[(group >> 6) & 0x3F];
    if (!url) out += "=";
  }
  return out;
}

inline std::string base64url(std::string_view text) {
  return encode_base64(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
                       true);
}

inline std::string base64(std::span<const std::uint8_t> bytes) {
  return encode_base64(bytes, false);
}

// The test key: bytes 0, 1, ..., 31.
inline std::array<std::uint8_t, 32> test_key() {
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

constexpr std::int64_t kTestIssuedAt = 1'795'000'000;  // 2026-11-18T11:06:40Z
constexpr std::int64_t kTestExpiresAt = kTestIssuedAt + 7 * 24 * 3600;

// A payload that passes every check before kTestExpiresAt.
inline nlohmann::json valid_payload(std::span<const std::uint8_t> key) {
  return {
      {"iss", "backupy-server"},   {"aud", "backupy-decrypt"}, {"exp", kTestExpiresAt},
      {"iat", kTestIssuedAt},      {"sub", "user-42"},         {"run_id", "run-7f3a"},
      {"company_id", "company-9"}, {"dek", base64(key)},       {"alg", "AES-256-GCM"},
      {"format_version", 1},
  };
}

inline nlohmann::json valid_payload() {
  const auto key = test_key();
  return valid_payload(key);
}

// header.payload.signature from raw JSON texts (for malformed JSON cases).
inline std::string make_jwt_from_text(std::string_view header, std::string_view payload) {
  // Not an HMAC: the CLI cannot verify signatures, any base64url will do.
  return base64url(header) + "." + base64url(payload) + "." +
         base64url("signature-not-checked-by-the-cli");
}

inline std::string make_jwt(const nlohmann::json& payload,
                            const nlohmann::json& header = {{"alg", "HS256"}, {"typ", "JWT"}}) {
  return make_jwt_from_text(header.dump(), payload.dump());
}

}  // namespace backupy::token::testing
