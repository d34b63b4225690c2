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

}  // namespace backupy::config::detail

namespace backupy::config {
using detail::is_false;
using detail::is_true;
using detail::parse_unsigned;

// BACKUPY_HOOKS, BACKUPY_HOOK_TIMEOUT_SEC, BACKUPY_SPOOL_MAX_BYTES, BACKUPY_ZSTD_*,
// BACKUPY_UPLOAD_MAX_ATTEMPTS (bootstrap_runs.cpp).
void load_run_settings(const EnvLookup& env, RunSettings& settings,
                       std::vector<std::string>& problems);
}  // namespace backupy::config
