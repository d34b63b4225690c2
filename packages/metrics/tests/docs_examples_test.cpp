// docs/metrics.md promises a working scrape config and alert rules: the real promtool checks
// the YAML blocks exactly as the document shows them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "backupy/test_support/process.hpp"
#include "backupy/test_support/s3_server.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::metrics {
namespace {

// The body of the ```yaml block whose first line is `first_line`.
std::string yaml_block(const std::string& document, const std::string& first_line) {
  const std::string fence = "```yaml\n" + first_line;
  const auto start = document.find(fence);
  if (start == std::string::npos) return {};
  const auto body = start + std::string("```yaml\n").size();
  const auto end = document.find("```", body);
  return document.substr(body, end - body);
}

class MetricsDocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::filesystem::path(BACKUPY_SOURCE_DIR) / "docs" / "metrics.md");
    ASSERT_TRUE(in) << "docs/metrics.md is missing";
    std::stringstream text;
    text << in.rdbuf();
    document_ = text.str();
  }

  test_support::CommandResult promtool(const std::string& verb, const std::string& file_name,
                                       const std::string& content) {
    const auto path = dir_.path() / file_name;
    std::ofstream(path) << content;
    return test_support::run_command(
        {test_support::find_executable("promtool").string(), "check", verb, path.string()}, {});
  }

  std::string document_;
  test_support::TempDir dir_{"backupy-metrics-doc"};
};

TEST_F(MetricsDocTest, TheScrapeConfigIsAValidPrometheusConfig) {
  const std::string config = yaml_block(document_, "# prometheus.yml");
  ASSERT_THAT(config, ::testing::HasSubstr("job_name: backupy-agent"));
  const auto result = promtool("config", "prometheus.yml", config);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(MetricsDocTest, TheAlertRulesAreValidAndUseOurMetrics) {
  const std::string rules = yaml_block(document_, "# backupy-agent.rules.yml");
  ASSERT_THAT(rules, ::testing::HasSubstr("backupy_agent_last_success_timestamp_seconds"));
  const auto result = promtool("rules", "backupy-agent.rules.yml", rules);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, ::testing::HasSubstr("SUCCESS: 6 rules found"));
}

}  // namespace
}  // namespace backupy::metrics
