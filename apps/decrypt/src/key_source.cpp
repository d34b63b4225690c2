#include "key_source.hpp"

#include <variant>

#include "backupy/core/hex.hpp"
#include "backupy/token/decrypt_token.hpp"
#include "failure.hpp"
#include "secret_file.hpp"

namespace backupy::decrypt {
namespace {

// Tokens are a few hundred bytes; anything this large is the wrong file.
constexpr std::size_t kMaxTokenFile = 64 * 1024;
// 64 hex characters and a CRLF; larger files cannot be a key.
constexpr std::size_t kMaxKeyFile = 1024;

token::DataKey key_from_hex(std::string_view hex) {
  auto bytes = core::from_hex(hex);
  if (!bytes || bytes->size() != token::DataKey::kSize) {
    // Unreachable for --key-hex (validated while parsing) but not for files.
    throw Failure("the key must be 64 hex characters");
  }
  token::DataKey key(
      std::span<const std::uint8_t, token::DataKey::kSize>(bytes->data(), token::DataKey::kSize));
  crypto::secure_wipe(*bytes);
  return key;
}

ResolvedKey from_token(std::string_view jwt, std::chrono::system_clock::time_point now) {
  auto parsed = token::parse_decrypt_token(jwt, now);
  if (auto* error = std::get_if<token::TokenError>(&parsed)) throw Failure(error->message);
  auto& decoded = std::get<token::DecryptToken>(parsed);
  return ResolvedKey{decoded.dek, decoded.sha256};
}

token::DataKey key_from_file(const std::string& path) {
  SecretText content;
  read_secret_file(path, "key file", kMaxKeyFile, content);
  std::string_view text = content.text;
  if (text.size() == token::DataKey::kSize) {
    // 32 raw bytes. (32 bytes can never be 64 hex characters, so the two
    // forms cannot be confused.)
    return token::DataKey(std::span<const std::uint8_t, token::DataKey::kSize>(
        reinterpret_cast<const std::uint8_t*>(text.data()), token::DataKey::kSize));
  }
  if (text.ends_with("\r\n")) {
    text.remove_suffix(2);
  } else if (text.ends_with('\n')) {
    text.remove_suffix(1);
  }
  if (is_64_hex(text)) return key_from_hex(text);
  throw Failure("key file " + path + " must hold 32 raw bytes or 64 hex characters, got " +
                std::to_string(content.text.size()) + " bytes");
}

}  // namespace

ResolvedKey resolve_key(KeySource source, const std::string& value,
                        std::chrono::system_clock::time_point now) {
  switch (source) {
    case KeySource::token: return from_token(value, now);
    case KeySource::token_file: {
      SecretText content;
      read_secret_file(value, "token file", kMaxTokenFile, content);
      return from_token(content.text, now);
    }
    case KeySource::key_hex: return ResolvedKey{key_from_hex(value), std::nullopt};
    case KeySource::key_file: return ResolvedKey{key_from_file(value), std::nullopt};
  }
  throw Failure("unknown key source");
}

}  // namespace backupy::decrypt
