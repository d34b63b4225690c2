#include "backupy/core/log.hpp"

#include <gtest/gtest.h>

#include "backupy/core/redactor.hpp"

namespace backupy::core {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    configure_logging(
        {LogLevel::debug, [this](std::string_view line) { lines_.emplace_back(line); }});
  }
  void TearDown() override {
    configure_logging({});
    forget_all_secrets();
  }
  std::vector<std::string> lines_;
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithTypedFields) {
  Logger("session").info("connected", {{"attempt", 3}, {"url", "wss://cp/x"}, {"ok", true}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("\"level\":\"info\""), std::string::npos);
  EXPECT_NE(line.find("\"component\":\"session\""), std::string::npos);
  EXPECT_NE(line.find("\"msg\":\"connected\""), std::string::npos);
  EXPECT_NE(line.find("\"attempt\":3"), std::string::npos);
  EXPECT_NE(line.find("\"url\":\"wss://cp/x\""), std::string::npos);
  EXPECT_NE(line.find("\"ok\":true"), std::string::npos);
}

TEST_F(LogTest, DropsLinesBelowTheConfiguredLevel) {
  set_log_level(LogLevel::warn);
  Logger("x").info("quiet");
  Logger("x").warn("loud");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("loud"), std::string::npos);
}

TEST_F(LogTest, RedactsSensitiveFieldNamesAndRegisteredValues) {
  register_secret("s3cr3t-password");
  Logger("x").error("login failed for s3cr3t-password",
                    {{"password", "hunter22"}, {"detail", "pw=s3cr3t-password"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find("s3cr3t-password"), std::string::npos);
  EXPECT_EQ(lines_[0].find("hunter22"), std::string::npos);
  EXPECT_NE(lines_[0].find("[REDACTED]"), std::string::npos);
}

TEST_F(LogTest, EscapesControlCharactersAndInvalidUtf8) {
  Logger("x").info(std::string("a\"b\n\x01\xff"));
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find(R"(a\"b\n\u0001\u00ff)"), std::string::npos);
}

TEST_F(LogTest, TapsSeeRedactedRecords) {
  register_secret("tap-secret-value");
  std::vector<LogRecord> seen;
  const int id = add_log_tap([&](const LogRecord& r) { seen.push_back(r); });
  Logger("tap").warn("has tap-secret-value", {{"k", "v"}});
  remove_log_tap(id);
  Logger("tap").warn("after removal");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].message, "has [REDACTED]");
  EXPECT_EQ(seen[0].component, "tap");
  EXPECT_EQ(seen[0].level, LogLevel::warn);
}

TEST_F(LogTest, FieldsAssembledAtRunTimeKeepTheirOrderAndRedaction) {
  register_secret("run-time-secret");
  std::vector<LogField> fields{{"event", "result"}, {"n", 1}};
  const std::string detail = "has run-time-secret";
  fields.push_back({"detail", detail});
  fields.push_back({"token", "abc"});
  Logger("x").log(LogLevel::info, "result", fields);
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  const std::size_t event = line.find("\"event\":\"result\"");
  const std::size_t n = line.find("\"n\":1");
  const std::size_t detail_at = line.find("\"detail\":\"has [REDACTED]\"");
  ASSERT_NE(event, std::string::npos);
  ASSERT_NE(n, std::string::npos);
  ASSERT_NE(detail_at, std::string::npos);
  EXPECT_LT(event, n);
  EXPECT_LT(n, detail_at);
  EXPECT_NE(line.find("\"token\":\"[REDACTED]\""), std::string::npos);
  EXPECT_EQ(line.find("run-time-secret"), std::string::npos);
}

TEST_F(LogTest, BracedFieldListsStillWorkWithAnExplicitLevel) {
  Logger("x").log(LogLevel::warn, "braced", {{"k", "v"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("\"level\":\"warn\""), std::string::npos);
  EXPECT_NE(lines_[0].find("\"k\":\"v\""), std::string::npos);
}

TEST(LogLevelTest, ParsesKnownNamesOnly) {
  EXPECT_EQ(parse_log_level("trace"), LogLevel::trace);
  EXPECT_EQ(parse_log_level("warning"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("error"), LogLevel::error);
  EXPECT_FALSE(parse_log_level("verbose").has_value());
  EXPECT_FALSE(parse_log_level("").has_value());
}

}  // namespace
}  // namespace backupy::core
