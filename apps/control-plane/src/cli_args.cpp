#include "cli_args.hpp"

#include <algorithm>

namespace backupy::cpcli {
namespace {

constexpr std::string_view kCommonValueOptions[] = {"--url", "--ca", "--token-file"};

bool contains(std::initializer_list<std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

ParsedArgs parse_args(const std::vector<std::string_view>& args,
                      std::initializer_list<std::string_view> value_options,
                      std::initializer_list<std::string_view> flag_options) {
  const auto takes_value = [&](std::string_view name) {
    return contains(value_options, name) ||
           std::find(std::begin(kCommonValueOptions), std::end(kCommonValueOptions), name) !=
               std::end(kCommonValueOptions);
  };
  ParsedArgs parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      parsed.positionals.emplace_back(arg);
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    if (name == "--token" || name == "--admin-token") {
      // Arguments are world-readable (ps, /proc/<pid>/cmdline) and land in shell history.
      throw UsageError(std::string(name) +
                       " is not accepted: command lines are visible to every user of the "
                       "machine; set BACKUPY_ADMIN_TOKEN or use --token-file FILE");
    }
    if (contains(flag_options, name)) {
      if (eq != std::string_view::npos) {
        throw UsageError(std::string(name) + " takes no value");
      }
      parsed.flags.emplace(name);
      continue;
    }
    if (!takes_value(name)) throw UsageError("unknown option \"" + std::string(name) + "\"");
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      throw UsageError(std::string(name) + " needs a value");
    }
    if (value.empty()) throw UsageError(std::string(name) + " needs a non-empty value");
    if (!parsed.values.emplace(std::string(name), std::string(value)).second) {
      throw UsageError(std::string(name) + " given twice");
    }
  }
  return parsed;
}

}  // namespace backupy::cpcli
