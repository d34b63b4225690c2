// The run settings and self-update parts of the bootstrap environment.
#include <gtest/gtest.h>

#include <map>

#include "backupy/config/bootstrap.hpp"

namespace backupy::config {
namespace {

using Vars = std::map<std::string, std::string, std::less<>>;

std::variant<BootstrapConfig, std::vector<std::string>> load(Vars vars) {
  vars.emplace("BACKUPY_SERVER_URL", "https://cp.example.com");
  vars.emplace("BACKUPY_AGENT_KEY", std::string(64, 'a'));
  return load_bootstrap([&vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(BootstrapRuns, DefaultsAreConservative) {
  const auto config = std::get<BootstrapConfig>(load({}));
  EXPECT_FALSE(config.runs.hooks_enabled);
  EXPECT_EQ(config.runs.hook_timeout, std::chrono::seconds(300));
  EXPECT_EQ(config.runs.spool_max_bytes, 0u);
  EXPECT_EQ(config.runs.zstd_level, 3);
  EXPECT_EQ(config.runs.zstd_workers, 2u);
  EXPECT_EQ(config.runs.upload_max_attempts, 5u);
}

TEST(BootstrapRuns, ReadsEverySetting) {
  const auto config = std::get<BootstrapConfig>(load({{"BACKUPY_HOOKS", "enabled"},
                                                      {"BACKUPY_HOOK_TIMEOUT_SEC", "20"},
                                                      {"BACKUPY_SPOOL_MAX_BYTES", "10G"},
                                                      {"BACKUPY_ZSTD_LEVEL", "9"},
                                                      {"BACKUPY_ZSTD_WORKERS", "0"},
                                                      {"BACKUP_UPLOAD_MAX_ATTEMPTS", "7"}}));
  EXPECT_TRUE(config.runs.hooks_enabled);
  EXPECT_EQ(config.runs.hook_timeout, std::chrono::seconds(20));
  EXPECT_EQ(config.runs.spool_max_bytes, 10ull << 30);
  EXPECT_EQ(config.runs.zstd_level, 9);
  EXPECT_EQ(config.runs.zstd_workers, 0u);
  EXPECT_EQ(config.runs.upload_max_attempts, 7u);
}

TEST(BootstrapRuns, EveryBadValueIsReportedByName) {
  const auto result = load({{"BACKUPY_HOOKS", "yes"},
                            {"BACKUPY_HOOK_TIMEOUT_SEC", "0"},
                            {"BACKUPY_SPOOL_MAX_BYTES", "10 gigs"},
                            {"BACKUPY_ZSTD_LEVEL", "22"},
                            {"BACKUPY_ZSTD_WORKERS", "-1"},
                            {"BACKUPY_UPLOAD_MAX_ATTEMPTS", "0"}});
  const auto& problems = std::get<std::vector<std::string>>(result);
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_EQ(problems[0], "BACKUPY_HOOKS must be enabled or disabled");
  EXPECT_EQ(problems[1], "BACKUPY_HOOK_TIMEOUT_SEC must be a whole number from 1 to 86400");
  EXPECT_EQ(problems[2],
            "BACKUPY_SPOOL_MAX_BYTES must be a size such as 1073741824, 512M, 10G or 2TiB");
  EXPECT_EQ(problems[3], "BACKUPY_ZSTD_LEVEL must be a whole number from 1 to 19");
  EXPECT_EQ(problems[4], "BACKUPY_ZSTD_WORKERS must be a whole number from 0 to 16");
  EXPECT_EQ(problems[5], "BACKUPY_UPLOAD_MAX_ATTEMPTS must be a whole number from 1 to 100");
}

TEST(BootstrapRuns, ByteSizes) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("1T"), 1ull << 40);
  EXPECT_EQ(parse_byte_size("4k"), 4096u);
  EXPECT_EQ(parse_byte_size(""), std::nullopt);
  EXPECT_EQ(parse_byte_size("G"), std::nullopt);
  EXPECT_EQ(parse_byte_size("1.5G"), std::nullopt);
  EXPECT_EQ(parse_byte_size("1X"), std::nullopt);
  EXPECT_EQ(parse_byte_size("99999999999T"), std::nullopt);  // overflows 64 bits
}

TEST(BootstrapUpdate, DefaultsAndEverySetting) {
  const auto defaults = std::get<BootstrapConfig>(load({}));
  EXPECT_FALSE(defaults.update.public_key_file.has_value());
  EXPECT_EQ(defaults.update.max_bytes, 256ull << 20);
  EXPECT_EQ(defaults.update.trial_window, std::chrono::seconds(60));

  const auto config = std::get<BootstrapConfig>(load({{"BACKUPY_UPDATE_PUBLIC_KEY_FILE", "/k.pem"},
                                                      {"BACKUPY_UPDATE_MAX_BYTES", "64M"},
                                                      {"BACKUPY_UPDATE_TRIAL_SEC", "5"}}));
  EXPECT_EQ(config.update.public_key_file, std::filesystem::path("/k.pem"));
  EXPECT_EQ(config.update.max_bytes, 64ull << 20);
  EXPECT_EQ(config.update.trial_window, std::chrono::seconds(5));
}

TEST(BootstrapUpdate, RefusesBadValuesNamingTheVariable) {
  const auto problems = std::get<std::vector<std::string>>(
      load({{"BACKUPY_UPDATE_MAX_BYTES", "lots"}, {"BACKUPY_UPDATE_TRIAL_SEC", "4"}}));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "BACKUPY_UPDATE_MAX_BYTES must be a size such as 268435456, 256M or 1G");
  EXPECT_EQ(problems[1], "BACKUPY_UPDATE_TRIAL_SEC must be a whole number from 5 to 3600");
  EXPECT_TRUE(
      std::holds_alternative<std::vector<std::string>>(load({{"BACKUPY_UPDATE_MAX_BYTES", "0"}})));
}

}  // namespace
}  // namespace backupy::config
