#include "backupy/core/redactor.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>
#include <vector>

#include "backupy/core/ascii.hpp"

namespace backupy::core {
namespace {

std::mutex& secrets_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Longest first, so a secret that contains another is scrubbed whole.
struct LongestFirst {
  bool operator()(const std::string& a, const std::string& b) const {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  }
};

std::set<std::string, LongestFirst>& secrets() {
  static std::set<std::string, LongestFirst> values;
  return values;
}

// Protocol tokens and secret names are ASCII: no locale.
std::string lower(std::string_view text) {
  return core::ascii_lower(text);
}

void replace_all(std::string& text, std::string_view needle) {
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + kRedacted.size())) {
    text.replace(pos, needle.size(), kRedacted);
  }
}

// Query parameters of presigned URLs whose values are credentials.
constexpr std::array<std::string_view, 4> kSignedParams = {
    "x-amz-signature=", "x-amz-credential=", "x-amz-security-token=", "signature="};

bool ends_parameter(char c) {
  return c == '&' || c == '"' || c == '\'' || c == ' ' || c == '\n' || c == '>' || c == '\\';
}

void scrub_signed_params(std::string& text) {
  const std::string folded = lower(text);
  // Walk from the end so earlier offsets stay valid as we replace.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (std::string_view param : kSignedParams) {
    for (std::size_t pos = folded.find(param); pos != std::string::npos;
         pos = folded.find(param, pos + 1)) {
      // "signature=" also matches the tail of "x-amz-signature="; both are fine.
      std::size_t start = pos + param.size();
      std::size_t end = start;
      while (end < text.size() && !ends_parameter(text[end])) ++end;
      if (end > start) spans.emplace_back(start, end);
    }
  }
  std::sort(spans.begin(), spans.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::size_t floor = std::string::npos;
  for (auto [start, end] : spans) {
    if (floor != std::string::npos && end > floor) continue;  // overlapping match
    text.replace(start, end - start, kRedacted);
    floor = start;
  }
}

}  // namespace

bool is_sensitive_field_name(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kMarkers = {
      "password",  "passwd",  "secret",      "token",      "authorization",
      "agent_key", "api_key", "private_key", "credential", "signature"};
  const std::string folded = lower(name);
  if (folded == "key" || folded == "dek" || folded.ends_with("_dek") ||
      folded.starts_with("dek_")) {
    return folded != "dek_kms_id";
  }
  return std::any_of(kMarkers.begin(), kMarkers.end(), [&](std::string_view marker) {
    return folded.find(marker) != std::string::npos;
  });
}

void register_secret(std::string_view value) {
  if (value.size() < 4) return;
  std::lock_guard lock(secrets_mutex());
  secrets().emplace(value);
}

void forget_all_secrets() {
  std::lock_guard lock(secrets_mutex());
  secrets().clear();
}

std::string redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard lock(secrets_mutex());
    for (const std::string& secret : secrets()) replace_all(out, secret);
  }
  scrub_signed_params(out);
  return out;
}

}  // namespace backupy::core
