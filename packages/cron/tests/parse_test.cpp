// What CronExpression::parse accepts, and the exact errors for what it refuses.
#include <gtest/gtest.h>

#include "cron_test_support.hpp"

namespace backupy::cron {
namespace {

using testing::fires;
using testing::next;
using testing::parse_error;
using testing::parse_ok;
using testing::utc;

const auto kNewYear2026 = utc(2026, 1, 1);  // a Thursday

TEST(CronParseTest, ExpandsEveryMacro) {
  EXPECT_EQ(next("@yearly", kNewYear2026), "2027-01-01 00:00:00");
  EXPECT_EQ(next("@annually", kNewYear2026), "2027-01-01 00:00:00");
  EXPECT_EQ(next("@monthly", kNewYear2026), "2026-02-01 00:00:00");
  EXPECT_EQ(next("@weekly", kNewYear2026), "2026-01-04 00:00:00");  // Sunday
  EXPECT_EQ(next("@daily", kNewYear2026), "2026-01-02 00:00:00");
  EXPECT_EQ(next("@midnight", kNewYear2026), "2026-01-02 00:00:00");
  EXPECT_EQ(next("@hourly", kNewYear2026), "2026-01-01 01:00:00");
}

TEST(CronParseTest, MacrosIgnoreCaseAndSurroundingSpace) {
  EXPECT_EQ(next("  @Daily\t", kNewYear2026), "2026-01-02 00:00:00");
  const auto expression = parse_ok("  @Daily\t");
  ASSERT_TRUE(expression);
  EXPECT_EQ(expression->text(), "@Daily");
}

TEST(CronParseTest, RejectsUnknownMacroAndMacroWithFields) {
  EXPECT_EQ(parse_error("@reboot"),
            "unknown cron macro \"@reboot\" (expected one of @yearly @annually @monthly "
            "@weekly @daily @midnight @hourly)");
  EXPECT_EQ(parse_error("@daily 5"),
            "unknown cron macro \"@daily 5\" (expected one of @yearly @annually @monthly "
            "@weekly @daily @midnight @hourly)");
}

TEST(CronParseTest, AcceptsMonthAndDayNamesInAnyCase) {
  // Thursday Jan 1 is excluded by "strictly after"; Fri 2, then Mon 5.
  EXPECT_EQ(fires("0 0 * JAN,jul MON-fri", kNewYear2026, 2),
            (std::vector<std::string>{"2026-01-02 00:00:00", "2026-01-05 00:00:00"}));
  EXPECT_EQ(fires("0 0 1 mar-MAY/2 *", kNewYear2026, 3),
            (std::vector<std::string>{"2026-03-01 00:00:00", "2026-05-01 00:00:00",
                                      "2027-03-01 00:00:00"}));
  EXPECT_EQ(next("0 0 * * Sun", kNewYear2026), "2026-01-04 00:00:00");
}

TEST(CronParseTest, ListsRangesAndSteps) {
  EXPECT_EQ(fires("*/15 * * * *", kNewYear2026, 4),
            (std::vector<std::string>{"2026-01-01 00:15:00", "2026-01-01 00:30:00",
                                      "2026-01-01 00:45:00", "2026-01-01 01:00:00"}));
  EXPECT_EQ(
      fires("5-20/5 * * * *", kNewYear2026, 5),
      (std::vector<std::string>{"2026-01-01 00:05:00", "2026-01-01 00:10:00", "2026-01-01 00:15:00",
                                "2026-01-01 00:20:00", "2026-01-01 01:05:00"}));
  EXPECT_EQ(fires("50/5 * * * *", kNewYear2026, 3),
            (std::vector<std::string>{"2026-01-01 00:50:00", "2026-01-01 00:55:00",
                                      "2026-01-01 01:50:00"}));
  EXPECT_EQ(fires("1,2,58 * * * *", kNewYear2026, 4),
            (std::vector<std::string>{"2026-01-01 00:01:00", "2026-01-01 00:02:00",
                                      "2026-01-01 00:58:00", "2026-01-01 01:01:00"}));
  EXPECT_EQ(fires("0 9-17/4 * * *", kNewYear2026, 4),
            (std::vector<std::string>{"2026-01-01 09:00:00", "2026-01-01 13:00:00",
                                      "2026-01-01 17:00:00", "2026-01-02 09:00:00"}));
  EXPECT_EQ(
      fires("0 0 1,10-12,20 * *", kNewYear2026, 5),
      (std::vector<std::string>{"2026-01-10 00:00:00", "2026-01-11 00:00:00", "2026-01-12 00:00:00",
                                "2026-01-20 00:00:00", "2026-02-01 00:00:00"}));
}

TEST(CronParseTest, QuestionMarkMeansAnyValue) {
  EXPECT_EQ(next("0 0 ? * MON", kNewYear2026), "2026-01-05 00:00:00");
  EXPECT_EQ(next("0 0 13 * ?", kNewYear2026), "2026-01-13 00:00:00");
}

TEST(CronParseTest, HugeStepMatchesOnlyTheStartWithoutOverflow) {
  EXPECT_EQ(fires("5/2147483647 * * * *", kNewYear2026, 2),
            (std::vector<std::string>{"2026-01-01 00:05:00", "2026-01-01 01:05:00"}));
}

TEST(CronParseTest, SixFieldsAddALeadingSecondsField) {
  EXPECT_EQ(fires("*/20 * * * * *", kNewYear2026, 3),
            (std::vector<std::string>{"2026-01-01 00:00:20", "2026-01-01 00:00:40",
                                      "2026-01-01 00:01:00"}));
  EXPECT_EQ(next("30 0 12 * * *", kNewYear2026), "2026-01-01 12:00:30");
  // Five fields fire at second 0 only.
  EXPECT_EQ(next("* * * * *", utc(2026, 1, 1, 0, 0, 30)), "2026-01-01 00:01:00");
}

TEST(CronParseTest, ErrorForWrongFieldCountListsTheFields) {
  EXPECT_EQ(parse_error("* * * *"),
            "cron expression \"* * * *\" has 4 fields; expected 5 (minute hour day-of-month "
            "month day-of-week) or 6 (second minute hour day-of-month month day-of-week)");
  EXPECT_EQ(parse_error("0 0 0 * * * *"),
            "cron expression \"0 0 0 * * * *\" has 7 fields; expected 5 (minute hour "
            "day-of-month month day-of-week) or 6 (second minute hour day-of-month month "
            "day-of-week)");
}

TEST(CronParseTest, ErrorForEmptyText) {
  EXPECT_EQ(parse_error(""), "cron expression is empty");
  EXPECT_EQ(parse_error(" \t "), "cron expression is empty");
}

TEST(CronParseTest, ErrorForOutOfRangeNamesTheField) {
  EXPECT_EQ(parse_error("0 25 * * *"), "cron field 'hour' (value \"25\"): 25 is out of range 0-23");
  EXPECT_EQ(parse_error("60 * * * *"),
            "cron field 'minute' (value \"60\"): 60 is out of range 0-59");
  EXPECT_EQ(parse_error("60 0 * * * *"),
            "cron field 'second' (value \"60\"): 60 is out of range 0-59");
  EXPECT_EQ(parse_error("0 0 0 * *"),
            "cron field 'day-of-month' (value \"0\"): 0 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 32 * *"),
            "cron field 'day-of-month' (value \"32\"): 32 is out of range 1-31");
  EXPECT_EQ(parse_error("0 0 * 13 *"),
            "cron field 'month' (value \"13\"): 13 is out of range 1-12");
  EXPECT_EQ(parse_error("0 0 * * 1,8"),
            "cron field 'day-of-week' (value \"1,8\"): 8 is out of range 0-7");
  EXPECT_EQ(parse_error("99999999999 * * * *"),
            "cron field 'minute' (value \"99999999999\"): 99999999999 is out of range 0-59");
  EXPECT_EQ(parse_error("0 0-24 * * *"),
            "cron field 'hour' (value \"0-24\"): 24 is out of range 0-23");
}

TEST(CronParseTest, ErrorForBadStep) {
  EXPECT_EQ(
      parse_error("*/0 * * * *"),
      "cron field 'minute' (value \"*/0\"): step 0 is not allowed; a step must be at least 1");
  EXPECT_EQ(parse_error("0 1-5/0 * * *"),
            "cron field 'hour' (value \"1-5/0\"): step 0 is not allowed; a step must be at "
            "least 1");
  EXPECT_EQ(parse_error("*/ * * * *"),
            "cron field 'minute' (value \"*/\"): missing step after '/'");
  EXPECT_EQ(parse_error("*/x * * * *"),
            "cron field 'minute' (value \"*/x\"): step \"x\" is not a number");
  EXPECT_EQ(parse_error("*/1/2 * * * *"),
            "cron field 'minute' (value \"*/1/2\"): step \"1/2\" is not a number");
  EXPECT_EQ(parse_error("*/99999999999 * * * *"),
            "cron field 'minute' (value \"*/99999999999\"): step 99999999999 is too large");
  EXPECT_EQ(parse_error("/5 * * * *"),
            "cron field 'minute' (value \"/5\"): missing value before '/'");
}

TEST(CronParseTest, ErrorForReversedOrOpenRange) {
  EXPECT_EQ(parse_error("0 0 * * 5-1"),
            "cron field 'day-of-week' (value \"5-1\"): range 5-1 is reversed (start 5 is after "
            "end 1)");
  EXPECT_EQ(parse_error("0 0 * * FRI-MON"),
            "cron field 'day-of-week' (value \"FRI-MON\"): range FRI-MON is reversed (start 5 is "
            "after end 1)");
  EXPECT_EQ(parse_error("0 0 20-10 * *"),
            "cron field 'day-of-month' (value \"20-10\"): range 20-10 is reversed (start 20 is "
            "after end 10)");
  EXPECT_EQ(parse_error("1- * * * *"),
            "cron field 'minute' (value \"1-\"): range \"1-\" needs a start and an end");
  EXPECT_EQ(parse_error("-5 * * * *"),
            "cron field 'minute' (value \"-5\"): range \"-5\" needs a start and an end");
}

TEST(CronParseTest, ErrorForUnknownName) {
  EXPECT_EQ(parse_error("0 0 * FOO *"),
            "cron field 'month' (value \"FOO\"): unknown month name \"FOO\" (expected JAN-DEC)");
  EXPECT_EQ(parse_error("0 0 * MON *"),
            "cron field 'month' (value \"MON\"): unknown month name \"MON\" (expected JAN-DEC)");
  EXPECT_EQ(parse_error("0 0 * * MONDAY"),
            "cron field 'day-of-week' (value \"MONDAY\"): unknown day name \"MONDAY\" (expected "
            "SUN-SAT)");
  EXPECT_EQ(parse_error("0 0 * * 1x"),
            "cron field 'day-of-week' (value \"1x\"): \"1x\" is not a number or a name");
  EXPECT_EQ(parse_error("X * * * *"), "cron field 'minute' (value \"X\"): \"X\" is not a number");
  EXPECT_EQ(parse_error("0 JAN * * *"),
            "cron field 'hour' (value \"JAN\"): \"JAN\" is not a number");
}

TEST(CronParseTest, ErrorForEmptyListElement) {
  EXPECT_EQ(parse_error("1,,2 * * * *"),
            "cron field 'minute' (value \"1,,2\"): empty list element");
  EXPECT_EQ(parse_error("0 1, * * *"), "cron field 'hour' (value \"1,\"): empty list element");
  EXPECT_EQ(parse_error("0 0 * * ,MON"),
            "cron field 'day-of-week' (value \",MON\"): empty list element");
}

TEST(CronParseTest, ErrorsEscapeControlCharactersAndQuotes) {
  EXPECT_EQ(parse_error("0 0 * * \x01\"\\"),
            "cron field 'day-of-week' (value \"\\x01\\\"\\\\\"): \"\\x01\\\"\\\\\" is not a number "
            "or a name");
}

}  // namespace
}  // namespace backupy::cron
