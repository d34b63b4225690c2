#pragma once
// Command-line parsing shared by the operator subcommands: "--name value" or "--name=value"
// options, bare flags and positional arguments, each command naming what it accepts.
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::cpcli {

// A mistake in the command line: reported with the usage text, exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Anything else that made the command fail: one precise line, exit code 1.
class CommandError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::string, std::less<>> values;  // "--agent" -> "a"
  std::set<std::string, std::less<>> flags;                // "--wait"

  std::optional<std::string> value(std::string_view name) const;
  bool flag(std::string_view name) const { return flags.contains(name); }
};

// value_options take a value, flag_options do not; the common client options (--url, --ca,
// --token-file) are always accepted. Throws UsageError for anything else, and explains why an
// admin token is never accepted as an argument.
ParsedArgs parse_args(const std::vector<std::string_view>& args,
                      std::initializer_list<std::string_view> value_options,
                      std::initializer_list<std::string_view> flag_options = {});

}  // namespace backupy::cpcli
