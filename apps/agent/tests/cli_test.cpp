#include "cli.hpp"

#include <gtest/gtest.h>

namespace backupy::agent {
namespace {

Command parse(std::vector<std::string> args, std::string& error) {
  return parse_command_line(args, error);
}

TEST(CliTest, DefaultsToRun) {
  std::string error;
  EXPECT_EQ(parse({}, error).kind, Command::Kind::run);
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(parse({"run"}, error).kind, Command::Kind::run);
}

TEST(CliTest, ParsesFlagsOfEachCommand) {
  std::string error;
  auto version = parse({"version", "--json"}, error);
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(version.kind, Command::Kind::version);
  EXPECT_TRUE(version.json);
  auto dump = parse({"dump-state", "--allow-secrets"}, error);
  EXPECT_TRUE(error.empty());
  EXPECT_TRUE(dump.allow_secrets);
  EXPECT_FALSE(parse({"dump-state"}, error).allow_secrets);
  EXPECT_EQ(parse({"health-check"}, error).kind, Command::Kind::health_check);
}

TEST(CliTest, RejectsUnknownCommandsAndFlags) {
  std::string error;
  parse({"explode"}, error);
  EXPECT_EQ(error, "unknown command 'explode'");
  parse({"health-check", "--json"}, error);
  EXPECT_EQ(error, "unexpected argument '--json' for health-check");
  parse({"run", "--allow-secrets"}, error);
  EXPECT_FALSE(error.empty());
}

TEST(CliTest, UsageListsEveryCommand) {
  const std::string usage = usage_text();
  for (const char* name : {"run", "version", "health-check", "dump-state", "--allow-secrets"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace backupy::agent
