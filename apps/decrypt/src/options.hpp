#pragma once
// Command-line surface of backupy-decrypt (see usage_text()).
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace backupy::decrypt {

enum class KeySource { token, token_file, key_hex, key_file };

struct Options {
  enum class Action { decrypt, help, version };
  Action action = Action::decrypt;
  KeySource key_source = KeySource::token;
  std::string key_value;                     // the token, a path, or 64 hex characters (validated)
  std::string in;                            // a path, or "-" for standard input
  std::string out;                           // a path, or "-" for standard output
  std::optional<std::string> expect_sha256;  // 64 lowercase hex characters
  bool skip_decompress = false;
  bool quiet = false;
};

// Wrong usage: printed with the usage text, exit code 2.
struct UsageError {
  std::string message;
};

// args excludes the program name. --name value and --name=value are both
// accepted. Never echoes anything that could be a key or token.
std::variant<Options, UsageError> parse_options(const std::vector<std::string>& args);

std::string usage_text();

// True for exactly 64 hex characters (either case).
bool is_64_hex(std::string_view text);

}  // namespace backupy::decrypt
