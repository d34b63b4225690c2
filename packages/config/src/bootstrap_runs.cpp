// The run-related part of the bootstrap environment.
#include <limits>

#include "env_parse.hpp"

namespace backupy::config {

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  const auto number = parse_unsigned<std::uint64_t>(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view unit = text.substr(digits);
  if (unit.ends_with("iB")) unit.remove_suffix(2);
  int shift = 0;
  if (unit.empty()) {
    shift = 0;
  } else if (unit == "K" || unit == "k") {
    shift = 10;
  } else if (unit == "M") {
    shift = 20;
  } else if (unit == "G") {
    shift = 30;
  } else if (unit == "T") {
    shift = 40;
  } else {
    return std::nullopt;
  }
  if (*number > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return *number << shift;
}

void load_run_settings(const EnvLookup& env, RunSettings& settings,
                       std::vector<std::string>& problems) {
  if (auto hooks = lookup(env, "HOOKS"); hooks && !hooks->empty()) {
    if (*hooks == "enabled") {
      settings.hooks_enabled = true;
    } else if (*hooks == "disabled") {
      settings.hooks_enabled = false;
    } else {
      problems.push_back("BACKUPY_HOOKS must be enabled or disabled");
    }
  }
  unsigned hook_timeout = static_cast<unsigned>(settings.hook_timeout.count());
  read_bounded<unsigned>(env, "HOOK_TIMEOUT_SEC", 1, 86400, hook_timeout, problems);
  settings.hook_timeout = std::chrono::seconds(hook_timeout);

  if (auto budget = lookup(env, "SPOOL_MAX_BYTES"); budget && !budget->empty()) {
    if (auto bytes = parse_byte_size(*budget)) {
      settings.spool_max_bytes = *bytes;
    } else {
      problems.push_back(
          "BACKUPY_SPOOL_MAX_BYTES must be a size such as 1073741824, 512M, 10G or 2TiB");
    }
  }
  read_bounded<int>(env, "ZSTD_LEVEL", 1, 19, settings.zstd_level, problems);
  read_bounded<unsigned>(env, "ZSTD_WORKERS", 0, 16, settings.zstd_workers, problems);
  read_bounded<unsigned>(env, "UPLOAD_MAX_ATTEMPTS", 1, 100, settings.upload_max_attempts,
                         problems);
}

}  // namespace backupy::config
