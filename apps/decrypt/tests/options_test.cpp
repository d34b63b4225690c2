#include "options.hpp"

#include <gtest/gtest.h>

namespace backupy::decrypt {
namespace {

const std::string kHex64 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Options parse_ok(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    ADD_FAILURE() << "unexpected usage error: " << error->message;
    return {};
  }
  return std::get<Options>(parsed);
}

std::string usage_error(const std::vector<std::string>& args) {
  auto parsed = parse_options(args);
  if (auto* error = std::get_if<UsageError>(&parsed)) return error->message;
  return "";
}

TEST(DecryptOptions, ParsesAFullCommandLine) {
  const Options options =
      parse_ok({"--token-file", "t.jwt", "--in", "blob", "--out=dump.sql", "--expect-sha256",
                std::string(64, 'A'), "--skip-decompress", "--quiet"});
  EXPECT_EQ(options.action, Options::Action::decrypt);
  EXPECT_EQ(options.key_source, KeySource::token_file);
  EXPECT_EQ(options.key_value, "t.jwt");
  EXPECT_EQ(options.in, "blob");
  EXPECT_EQ(options.out, "dump.sql");
  EXPECT_EQ(options.expect_sha256, std::string(64, 'a'));
  EXPECT_TRUE(options.skip_decompress);
  EXPECT_TRUE(options.quiet);
}

TEST(DecryptOptions, EveryKeySource) {
  EXPECT_EQ(parse_ok({"--token", "a.b.c", "--in", "-", "--out", "-"}).key_source, KeySource::token);
  EXPECT_EQ(parse_ok({"--token-file", "f", "--in", "-", "--out", "-"}).key_source,
            KeySource::token_file);
  EXPECT_EQ(parse_ok({"--key-hex", kHex64, "--in", "-", "--out", "-"}).key_source,
            KeySource::key_hex);
  EXPECT_EQ(parse_ok({"--key-file", "k", "--in", "-", "--out", "-"}).key_source,
            KeySource::key_file);
  const Options options = parse_ok({"--in", "-", "--out", "-", "--key-hex=" + kHex64});
  EXPECT_EQ(options.key_value, kHex64);
  EXPECT_EQ(options.in, "-");
  EXPECT_EQ(options.out, "-");
  EXPECT_FALSE(options.expect_sha256.has_value());
  EXPECT_FALSE(options.skip_decompress);
  EXPECT_FALSE(options.quiet);
}

TEST(DecryptOptions, HelpAndVersionWinOverEverythingElse) {
  EXPECT_EQ(parse_ok({"--help"}).action, Options::Action::help);
  EXPECT_EQ(parse_ok({"-h"}).action, Options::Action::help);
  EXPECT_EQ(parse_ok({"--in", "x", "--help"}).action, Options::Action::help);
  EXPECT_EQ(parse_ok({"--version"}).action, Options::Action::version);
}

TEST(DecryptOptions, ExactlyOneKeySource) {
  EXPECT_EQ(usage_error({"--in", "a", "--out", "b"}),
            "a key is required: --token, --token-file, --key-hex or --key-file");
  EXPECT_EQ(usage_error({"--token", "x.y.z", "--key-file", "k", "--in", "a", "--out", "b"}),
            "only one key source may be given, got --token and --key-file");
}

TEST(DecryptOptions, InAndOutAreRequired) {
  EXPECT_EQ(usage_error({"--key-file", "k", "--out", "b"}),
            "--in is required (a file, or - for standard input)");
  EXPECT_EQ(usage_error({"--key-file", "k", "--in", "a"}),
            "--out is required (a file, or - for standard output)");
}

TEST(DecryptOptions, ValuesAreCheckedWithoutEchoingSecrets) {
  const std::string almost_key = kHex64.substr(0, 63) + "g";
  const std::string message = usage_error({"--key-hex", almost_key, "--in", "a", "--out", "b"});
  EXPECT_EQ(message, "--key-hex must be 64 hex characters");
  EXPECT_EQ(usage_error({"--key-hex", kHex64.substr(2), "--in", "a", "--out", "b"}), message);
  EXPECT_EQ(usage_error({"--key-file", "k", "--in", "a", "--out", "b", "--expect-sha256", "ab"}),
            "--expect-sha256 must be 64 hex characters");
  // A key passed without its option is not echoed either.
  EXPECT_EQ(usage_error({kHex64, "--in", "a", "--out", "b"}),
            "unexpected argument 1 (options start with --)");
}

TEST(DecryptOptions, MalformedCommandLines) {
  EXPECT_EQ(usage_error({"--frobnicate"}), "unknown option --frobnicate");
  EXPECT_EQ(usage_error({"--frobnicate=1"}), "unknown option --frobnicate");
  EXPECT_EQ(usage_error({"--in"}), "--in needs a value");
  EXPECT_EQ(usage_error({"--in", "--out", "x"}), "--in needs a value");
  EXPECT_EQ(usage_error({"--in="}), "--in needs a value");
  EXPECT_EQ(usage_error({"--in", "a", "--in", "b"}), "--in given twice");
  EXPECT_EQ(usage_error({"--quiet", "--quiet"}), "--quiet given twice");
  EXPECT_EQ(usage_error({"--quiet=yes"}), "--quiet takes no value");
  EXPECT_EQ(usage_error({"--key-file", "-", "--in", "a", "--out", "b"}),
            "--key-file must name a file, not -");
  EXPECT_EQ(usage_error({"--token-file", "-", "--in", "a", "--out", "b"}),
            "--token-file must name a file, not -");
  EXPECT_EQ(usage_error({"-x"}), "unexpected argument 1 (options start with --)");
}

TEST(DecryptOptions, UsageTextNamesEveryOption) {
  const std::string usage = usage_text();
  for (const char* flag :
       {"--token", "--token-file", "--key-hex", "--key-file", "--in", "--out", "--expect-sha256",
        "--skip-decompress", "--quiet", "--help", "--version"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace backupy::decrypt
