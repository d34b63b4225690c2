#include "backupy/token/decrypt_token.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "backupy/core/base64.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::token {
namespace {

using nlohmann::json;

// Internal shortcut out of the nested checks; becomes a TokenError value at
// the API boundary.
struct Rejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void reject(const std::string& message) {
  throw Rejected(message);
}

constexpr std::string_view kIssuer = "backupy-server";
constexpr std::string_view kAudience = "backupy-decrypt";
constexpr std::string_view kJwtAlg = "HS256";
constexpr std::string_view kBlobAlg = "AES-256-GCM";
constexpr std::int64_t kFormatVersion = 1;

// A received value for an error message: quoted if a string, JSON otherwise,
// shortened so that a hostile token cannot flood the terminal.
std::string describe(const json& value) {
  std::string text = value.is_string() ? "\"" + value.get<std::string>() + "\"" : value.dump();
  constexpr std::size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

json decode_json_part(std::string_view part, const char* name) {
  if (part.empty()) reject(std::string("token ") + name + " is empty");
  if (part.find('=') != std::string_view::npos) {
    reject(std::string("token ") + name + " is not valid base64url (padding '=' is not allowed)");
  }
  auto bytes = core::decode_base64url(part);
  if (!bytes) reject(std::string("token ") + name + " is not valid base64url");
  json parsed = json::parse(bytes->begin(), bytes->end(), nullptr, /*allow_exceptions=*/false);
  // The payload carries the dek: do not leave its decoded text in freed memory.
  crypto::secure_wipe(*bytes);
  if (parsed.is_discarded()) reject(std::string("token ") + name + " is not valid json");
  if (!parsed.is_object()) reject(std::string("token ") + name + " is not a json object");
  return parsed;
}

// The claim, or nullptr when absent or null.
const json* find_claim(const json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& require_claim(const json& payload, const char* name) {
  const json* value = find_claim(payload, name);
  if (value == nullptr) reject(std::string("token claim ") + name + " is missing");
  return *value;
}

std::string require_string(const json& payload, const char* name) {
  const json& value = require_claim(payload, name);
  if (!value.is_string()) reject(std::string("token claim ") + name + " must be a string");
  std::string text = value.get<std::string>();
  if (text.empty()) reject(std::string("token claim ") + name + " is empty");
  return text;
}

void require_equal(const json& payload, const char* name, std::string_view expected) {
  const json& value = require_claim(payload, name);
  if (!value.is_string() || value.get<std::string>() != expected) {
    reject(std::string("token claim ") + name + " must be \"" + std::string(expected) + "\", got " +
           describe(value));
  }
}

// JWT NumericDate: seconds since the epoch, possibly fractional (floored).
// Limited to years 1970..9999 so that every accepted time can be printed.
std::int64_t require_time(const json& payload, const char* name) {
  constexpr std::int64_t kLatest = 253'402'300'799;  // 9999-12-31T23:59:59Z
  const json& value = require_claim(payload, name);
  if (!value.is_number()) {
    reject(std::string("token claim ") + name +
           " must be a number (seconds since the epoch), got " + describe(value));
  }
  const double seconds = value.get<double>();
  if (!(seconds >= 0 && seconds <= static_cast<double>(kLatest))) {
    reject(std::string("token claim ") + name +
           " must be a time between 1970 and 9999 in seconds since the epoch, got " +
           describe(value));
  }
  // Integers are read as such: a double holds them exactly only up to 2^53.
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return static_cast<std::int64_t>(std::floor(seconds));
}

void check_audience(const json& payload) {
  const json& aud = require_claim(payload, "aud");
  if (aud.is_string() && aud.get<std::string>() == kAudience) return;
  if (aud.is_array()) {
    for (const json& entry : aud) {
      if (entry.is_string() && entry.get<std::string>() == kAudience) return;
    }
  }
  reject("token claim aud must be \"" + std::string(kAudience) +
         "\" or an array containing it, got " + describe(aud));
}

void check_format_version(const json& payload) {
  const json& value = require_claim(payload, "format_version");
  if (!value.is_number_integer()) {
    reject("token claim format_version must be an integer, got " + describe(value));
  }
  if (value.get<std::int64_t>() != kFormatVersion) {
    reject("token is for blob format version " + describe(value) +
           ", but this backupy-decrypt reads only version " + std::to_string(kFormatVersion));
  }
}

DataKey read_dek(const json& payload) {
  const json& value = require_claim(payload, "dek");
  // Neither message may quote the value: it is the key.
  if (!value.is_string()) reject("token claim dek must be a string");
  auto bytes = core::decode_base64(value.get_ref<const std::string&>());
  if (!bytes) reject("token claim dek is not valid base64 (standard alphabet, with padding)");
  if (bytes->size() != DataKey::kSize) {
    const std::size_t size = bytes->size();
    crypto::secure_wipe(*bytes);
    reject("token claim dek must decode to 32 bytes, got " + std::to_string(size));
  }
  DataKey key(std::span<const std::uint8_t, DataKey::kSize>(bytes->data(), DataKey::kSize));
  crypto::secure_wipe(*bytes);
  return key;
}

// Wipes the dek's base64 text inside the parsed payload however parsing ends.
class DekTextWiper {
 public:
  explicit DekTextWiper(json& payload) : payload_(payload) {}
  ~DekTextWiper() {
    const auto it = payload_.find("dek");
    if (it == payload_.end() || !it->is_string()) return;
    auto& text = it->get_ref<std::string&>();
    crypto::secure_wipe(std::span(reinterpret_cast<std::uint8_t*>(text.data()), text.size()));
  }
  DekTextWiper(const DekTextWiper&) = delete;
  DekTextWiper& operator=(const DekTextWiper&) = delete;

 private:
  json& payload_;
};

std::optional<std::string> read_sha256(const json& payload) {
  const json* value = find_claim(payload, "sha256");
  if (value == nullptr) return std::nullopt;
  const auto invalid = [&] {
    reject("token claim sha256 must be 64 hex characters, got " + describe(*value));
  };
  if (!value->is_string()) invalid();
  std::string hex = value->get<std::string>();
  if (hex.size() != 64) invalid();
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) invalid();
  }
  return hex;
}

DecryptToken parse(std::string_view jwt, std::chrono::system_clock::time_point now) {
  jwt = trim(jwt);
  if (jwt.empty()) reject("token is empty");
  const auto first_dot = jwt.find('.');
  const auto second_dot =
      first_dot == std::string_view::npos ? first_dot : jwt.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || jwt.find('.', second_dot + 1) != jwt.npos) {
    const auto parts = std::count(jwt.begin(), jwt.end(), '.') + 1;
    reject("token is not a jwt: expected 3 dot-separated parts, got " + std::to_string(parts));
  }
  const std::string_view header_part = jwt.substr(0, first_dot);
  const std::string_view payload_part = jwt.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_part = jwt.substr(second_dot + 1);

  const json header = decode_json_part(header_part, "header");
  const json* alg = find_claim(header, "alg");
  if (alg == nullptr) reject("token header has no alg");
  if (!alg->is_string() || alg->get<std::string>() != kJwtAlg) {
    reject("token header alg must be \"" + std::string(kJwtAlg) + "\", got " + describe(*alg));
  }
  // Not verifiable here (no server secret), but an absent or garbled
  // signature means the token was cut or mangled while being copied.
  if (signature_part.empty()) reject("token signature is missing");
  if (!core::decode_base64url(signature_part)) reject("token signature is not valid base64url");

  json payload = decode_json_part(payload_part, "payload");
  const DekTextWiper wiper(payload);
  DecryptToken token;
  require_equal(payload, "iss", kIssuer);
  check_audience(payload);
  token.expires_at = require_time(payload, "exp");
  token.issued_at = require_time(payload, "iat");
  token.subject = require_string(payload, "sub");
  token.run_id = require_string(payload, "run_id");
  token.company_id = require_string(payload, "company_id");
  require_equal(payload, "alg", kBlobAlg);
  check_format_version(payload);
  token.sha256 = read_sha256(payload);
  token.dek = read_dek(payload);

  // Last: a token that is both malformed and stale reports the malformation.
  const auto now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_seconds >= token.expires_at) {
    reject("token expired at " + format_utc_seconds(token.expires_at));
  }
  return token;
}

}  // namespace

std::variant<DecryptToken, TokenError> parse_decrypt_token(
    std::string_view jwt, std::chrono::system_clock::time_point now) {
  try {
    return parse(jwt, now);
  } catch (const Rejected& rejected) {
    return TokenError{rejected.what()};
  }
}

std::string format_utc_seconds(std::int64_t epoch_seconds) {
  using namespace std::chrono;
  const sys_seconds time{seconds{epoch_seconds}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss clock{time - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buf;
}

}  // namespace backupy::token
