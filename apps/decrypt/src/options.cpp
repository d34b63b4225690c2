#include "options.hpp"

#include <array>
#include <cctype>
#include <string_view>

namespace backupy::decrypt {
namespace {

struct Flag {
  std::string_view name;
  bool takes_value;
};

constexpr std::array kFlags = {
    Flag{"--token", true},
    Flag{"--token-file", true},
    Flag{"--key-hex", true},
    Flag{"--key-file", true},
    Flag{"--in", true},
    Flag{"--out", true},
    Flag{"--expect-sha256", true},
    Flag{"--skip-decompress", false},
    Flag{"--quiet", false},
    Flag{"--help", false},
    Flag{"--version", false},
};

const Flag* find_flag(std::string_view name) {
  for (const Flag& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

const char* key_source_flag(KeySource source) {
  switch (source) {
    case KeySource::token: return "--token";
    case KeySource::token_file: return "--token-file";
    case KeySource::key_hex: return "--key-hex";
    case KeySource::key_file: return "--key-file";
  }
  return "";
}

}  // namespace

bool is_64_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string usage_text() {
  return "usage: backupy-decrypt KEY --in FILE|- --out FILE|- [options]\n"
         "\n"
         "Decrypts (and decompresses) a backup stored by backupy-agent.\n"
         "\n"
         "KEY, exactly one of:\n"
         "  --token TOKEN          the decryption token issued by the server (visible in\n"
         "                         the process list: prefer --token-file)\n"
         "  --token-file FILE      a file holding the token\n"
         "  --key-hex HEX          the 32-byte data key as 64 hex characters\n"
         "  --key-file FILE        a file holding the data key: 32 raw bytes, or 64 hex\n"
         "                         characters (a trailing newline is allowed)\n"
         "\n"
         "  --in FILE|-            the stored object (- = standard input)\n"
         "  --out FILE|-           where to write the backup (- = standard output)\n"
         "\n"
         "options:\n"
         "  --expect-sha256 HEX    SHA-256 of the stored object; default: the token's\n"
         "                         sha256 claim, if any\n"
         "  --skip-decompress      write the decrypted zstd stream as it is\n"
         "  --quiet                no progress on standard error\n"
         "  --help                 print this text\n"
         "  --version              print the version\n"
         "\n"
         "With --out FILE the backup is written to a temporary file beside FILE and\n"
         "renamed over it only when everything checked out: FILE never holds a partial\n"
         "or unverified backup. With --out - a failure is signalled only by the exit\n"
         "code and the output may be partial: use --out FILE for unattended restores.\n"
         "\n"
         "exit codes: 0 success, 1 failure (one line on standard error), 2 wrong usage\n";
}

std::variant<Options, UsageError> parse_options(const std::vector<std::string>& args) {
  Options options;
  std::optional<KeySource> key_source;
  std::vector<std::string_view> seen;
  std::string in, out;
  bool have_in = false, have_out = false;

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      options.action = Options::Action::help;
      return options;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      // Not echoed: a misplaced argument may well be a key or a token.
      return UsageError{"unexpected argument " + std::to_string(i + 1) +
                        " (options start with --)"};
    }
    const auto equals = arg.find('=');
    const std::string_view name = std::string_view(arg).substr(0, equals);
    const Flag* flag = find_flag(name);
    if (flag == nullptr) return UsageError{"unknown option " + std::string(name)};
    if (name == "--help") {
      options.action = Options::Action::help;
      return options;
    }
    if (name == "--version") {
      options.action = Options::Action::version;
      return options;
    }
    for (std::string_view earlier : seen) {
      if (earlier == name) return UsageError{std::string(name) + " given twice"};
    }
    seen.push_back(name);

    std::string value;
    if (!flag->takes_value) {
      if (equals != std::string::npos) return UsageError{std::string(name) + " takes no value"};
    } else if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      value = args[++i];
    } else {
      return UsageError{std::string(name) + " needs a value"};
    }
    if (flag->takes_value && value.empty()) {
      return UsageError{std::string(name) + " needs a value"};
    }

    const auto set_key = [&](KeySource source) -> std::optional<UsageError> {
      if (key_source) {
        return UsageError{std::string("only one key source may be given, got ") +
                          key_source_flag(*key_source) + " and " + key_source_flag(source)};
      }
      key_source = source;
      options.key_value = std::move(value);
      return std::nullopt;
    };
    std::optional<UsageError> error;
    if (name == "--token") {
      error = set_key(KeySource::token);
    } else if (name == "--token-file" || name == "--key-file") {
      // Standard input may carry the blob; a key never shares it.
      if (value == "-") return UsageError{std::string(name) + " must name a file, not -"};
      error = set_key(name == "--token-file" ? KeySource::token_file : KeySource::key_file);
    } else if (name == "--key-hex") {
      if (!is_64_hex(value)) return UsageError{"--key-hex must be 64 hex characters"};
      error = set_key(KeySource::key_hex);
    } else if (name == "--in") {
      in = value;
      have_in = true;
    } else if (name == "--out") {
      out = value;
      have_out = true;
    } else if (name == "--expect-sha256") {
      if (!is_64_hex(value)) return UsageError{"--expect-sha256 must be 64 hex characters"};
      options.expect_sha256 = lowercase(value);
    } else if (name == "--skip-decompress") {
      options.skip_decompress = true;
    } else if (name == "--quiet") {
      options.quiet = true;
    }
    if (error) return *error;
  }

  if (!key_source) {
    return UsageError{"a key is required: --token, --token-file, --key-hex or --key-file"};
  }
  if (!have_in) return UsageError{"--in is required (a file, or - for standard input)"};
  if (!have_out) return UsageError{"--out is required (a file, or - for standard output)"};
  options.key_source = *key_source;
  options.in = std::move(in);
  options.out = std::move(out);
  return options;
}

}  // namespace backupy::decrypt
