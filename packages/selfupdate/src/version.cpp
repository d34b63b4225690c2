#include "backupy/selfupdate/version.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace backupy::selfupdate {
namespace {

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool identifier_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// Numeric identifiers: no leading zeros (semver 2.0), at most 18 digits (fits uint64).
std::optional<std::uint64_t> number(std::string_view text) {
  if (!all_digits(text) || text.size() > 18 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  for (const char c : text) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

struct Version {
  std::uint64_t core[3] = {};
  std::vector<std::string_view> prerelease;  // empty: a release
};

std::optional<Version> parse(std::string_view text) {
  if (!text.empty() && text[0] == 'v') text.remove_prefix(1);
  if (const std::size_t plus = text.find('+'); plus != std::string_view::npos) {
    // Build metadata has no precedence, but must be well-formed.
    for (const std::string_view id : split(text.substr(plus + 1), '.')) {
      if (id.empty() || !std::all_of(id.begin(), id.end(), identifier_char)) return std::nullopt;
    }
    text = text.substr(0, plus);
  }
  Version version;
  const std::size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    version.prerelease = split(text.substr(dash + 1), '.');
    for (const std::string_view id : version.prerelease) {
      if (id.empty() || !std::all_of(id.begin(), id.end(), identifier_char)) return std::nullopt;
      if (all_digits(id) && !number(id)) return std::nullopt;
    }
    text = text.substr(0, dash);
  }
  const std::vector<std::string_view> core = split(text, '.');
  if (core.size() != 3) return std::nullopt;
  for (std::size_t i = 0; i < 3; ++i) {
    const std::optional<std::uint64_t> value = number(core[i]);
    if (!value) return std::nullopt;
    version.core[i] = *value;
  }
  return version;
}

int sign(std::uint64_t a, std::uint64_t b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

int compare_identifiers(std::string_view a, std::string_view b) {
  const bool a_numeric = all_digits(a);
  const bool b_numeric = all_digits(b);
  if (a_numeric && b_numeric) return sign(*number(a), *number(b));
  if (a_numeric != b_numeric) return a_numeric ? -1 : 1;  // numeric sorts first
  const int order = a.compare(b);                         // ASCII order
  return order < 0 ? -1 : (order > 0 ? 1 : 0);
}

}  // namespace

std::optional<int> compare_versions(std::string_view a, std::string_view b) {
  const std::optional<Version> left = parse(a);
  const std::optional<Version> right = parse(b);
  if (!left || !right) return std::nullopt;
  for (std::size_t i = 0; i < 3; ++i) {
    if (const int order = sign(left->core[i], right->core[i]); order != 0) return order;
  }
  // A release outranks its prereleases.
  const bool left_release = left->prerelease.empty();
  const bool right_release = right->prerelease.empty();
  if (left_release || right_release)
    return left_release == right_release ? 0 : (left_release ? 1 : -1);
  const std::size_t common = std::min(left->prerelease.size(), right->prerelease.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (const int order = compare_identifiers(left->prerelease[i], right->prerelease[i]);
        order != 0) {
      return order;
    }
  }
  return sign(left->prerelease.size(), right->prerelease.size());  // more identifiers sort later
}

}  // namespace backupy::selfupdate
