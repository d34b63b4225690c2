#pragma once
// Small parsers shared by the bootstrap readers (environment values).
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/config/bootstrap.hpp"

namespace backupy::config::detail {

inline bool is_true(std::string_view value) {
  return value == "1" || value == "true" || value == "TRUE" || value == "True" || value == "yes";
}
inline bool is_false(std::string_view value) {
  return value.empty() || value == "0" || value == "false" || value == "FALSE" ||
         value == "False" || value == "no";
}

template <typename T>
std::optional<T> parse_unsigned(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Reads an unsigned number in [min, max] into out, or records a problem naming the variable.
template <typename T>
void read_bounded(const EnvLookup& env, std::string_view name, T min, T max, T& out,
                  std::vector<std::string>& problems) {
  const auto text = lookup(env, name);
  if (!text || text->empty()) return;
  const auto value = parse_unsigned<T>(*text);
  if (!value || *value < min || *value > max) {
    problems.push_back("BACKUPY_" + std::string(name) + " must be a whole number from " +
                       std::to_string(min) + " to " + std::to_string(max));
    return;
  }
  out = *value;
}

}  // namespace backupy::config::detail

namespace backupy::config {
using detail::is_false;
using detail::is_true;
using detail::parse_unsigned;
using detail::read_bounded;

// BACKUPY_HOOKS, BACKUPY_HOOK_TIMEOUT_SEC, BACKUPY_SPOOL_MAX_BYTES, BACKUPY_ZSTD_*,
// BACKUPY_UPLOAD_MAX_ATTEMPTS (bootstrap_runs.cpp).
void load_run_settings(const EnvLookup& env, RunSettings& settings,
                       std::vector<std::string>& problems);
// BACKUPY_UPDATE_* (bootstrap_update.cpp).
void load_update_settings(const EnvLookup& env, UpdateSettings& settings,
                          std::vector<std::string>& problems);
}  // namespace backupy::config
