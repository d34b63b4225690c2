#include "snapshot_validation_report.hpp"

#include <algorithm>
#include <cstdio>

#include "backupy/core/quote.hpp"
#include "backupy/core/redactor.hpp"

namespace backupy::config::detail {
namespace {

// Echoed values longer than this are cut: an id or URL is recognisable by its
// start, and an Ack reason must stay one readable line.
constexpr std::size_t kMaxQuotedBytes = 64;
// Whole problems are capped too (cron errors quote whole fields).
constexpr std::size_t kMaxProblemBytes = 512;
// Like core::register_secret: replacing one- to three-character "secrets"
// would mangle ordinary words without protecting anything real.
constexpr std::size_t kMinSecretBytes = 4;

void replace_all(std::string& text, std::string_view needle) {
  if (needle.empty()) return;
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + core::kRedacted.size())) {
    text.replace(pos, needle.size(), core::kRedacted);
  }
}

// Cuts text to at most max bytes plus "...", never inside a UTF-8 sequence.
std::string cut(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  text += "...";
  return text;
}

}  // namespace

Report::Report(std::vector<std::string> secrets) {
  for (std::string& secret : secrets) {
    if (secret.size() >= kMinSecretBytes) secrets_.push_back(std::move(secret));
  }
  // Longest first, so a secret that contains another is scrubbed whole.
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Report::quote(std::string_view value) const {
  std::string text(value);
  for (const std::string& secret : secrets_) replace_all(text, secret);
  // Redact before cutting, or a cut could leave a secret's prefix behind.
  text = core::redact(text);
  // Cut before escaping so an escape sequence is never split.
  return "\"" + core::escape_for_message(cut(std::move(text), kMaxQuotedBytes)) + "\"";
}

std::vector<std::string> Report::finish() && {
  for (std::string& problem : problems_) {
    for (const std::string& secret : secrets_) {
      replace_all(problem, secret);
      replace_all(problem, core::escape_for_message(secret));
    }
    problem = cut(core::redact(problem), kMaxProblemBytes);
  }
  return std::move(problems_);
}

}  // namespace backupy::config::detail
