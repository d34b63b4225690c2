// CronExpression::next_after: calendar edge cases and the Vixie day rule.
#include <gtest/gtest.h>

#include "cron_test_support.hpp"

namespace backupy::cron {
namespace {

using testing::fires;
using testing::next;
using testing::parse_ok;
using testing::utc;

const auto kNewYear2026 = utc(2026, 1, 1);  // a Thursday

TEST(CronNextAfterTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 13th (a Tuesday in January) or any Friday.
  EXPECT_EQ(fires("0 0 13 * FRI", kNewYear2026, 4),
            (std::vector<std::string>{"2026-01-02 00:00:00", "2026-01-09 00:00:00",
                                      "2026-01-13 00:00:00", "2026-01-16 00:00:00"}));
}

TEST(CronNextAfterTest, OnlyTheRestrictedDayFieldCounts) {
  EXPECT_EQ(fires("0 0 * * MON", kNewYear2026, 2),
            (std::vector<std::string>{"2026-01-05 00:00:00", "2026-01-12 00:00:00"}));
  EXPECT_EQ(fires("0 0 13 * *", kNewYear2026, 2),
            (std::vector<std::string>{"2026-01-13 00:00:00", "2026-02-13 00:00:00"}));
}

TEST(CronNextAfterTest, StarStepDayOfMonthCountsAsUnrestrictedLikeVixie) {
  // "*/2" begins with '*', so both fields must match: odd days that are Mondays.
  EXPECT_EQ(fires("0 0 */2 * MON", kNewYear2026, 3),
            (std::vector<std::string>{"2026-01-05 00:00:00", "2026-01-19 00:00:00",
                                      "2026-02-09 00:00:00"}));
  // "1-31/2" does not begin with '*': odd days or Mondays.
  EXPECT_EQ(fires("0 0 1-31/2 * MON", kNewYear2026, 3),
            (std::vector<std::string>{"2026-01-03 00:00:00", "2026-01-05 00:00:00",
                                      "2026-01-07 00:00:00"}));
}

TEST(CronNextAfterTest, SevenAndZeroAreBothSunday) {
  EXPECT_EQ(next("0 0 * * 7", kNewYear2026), "2026-01-04 00:00:00");
  EXPECT_EQ(next("0 0 * * 0", kNewYear2026), "2026-01-04 00:00:00");
  EXPECT_EQ(fires("0 0 * * 5-7", kNewYear2026, 4),
            (std::vector<std::string>{"2026-01-02 00:00:00", "2026-01-03 00:00:00",
                                      "2026-01-04 00:00:00", "2026-01-09 00:00:00"}));
}

TEST(CronNextAfterTest, FebruaryTwentyNinthWaitsForALeapYear) {
  EXPECT_EQ(next("0 0 29 2 *", utc(2026, 3, 1)), "2028-02-29 00:00:00");
}

TEST(CronNextAfterTest, ThirtyFirstSkipsShortMonths) {
  EXPECT_EQ(fires("0 0 31 * *", utc(2026, 1, 31), 4),
            (std::vector<std::string>{"2026-03-31 00:00:00", "2026-05-31 00:00:00",
                                      "2026-07-31 00:00:00", "2026-08-31 00:00:00"}));
}

TEST(CronNextAfterTest, ImpossibleDateHasNoNextTime) {
  EXPECT_EQ(next("0 0 30 2 *", kNewYear2026), "none");
  EXPECT_EQ(next("0 0 31 4,6,9,11 *", kNewYear2026), "none");
}

TEST(CronNextAfterTest, SearchStopsAfterFiveYears) {
  // 2100 is not a leap year, so after 2096 the next Feb 29 is in 2104.
  EXPECT_EQ(next("0 0 29 2 *", utc(2097, 3, 1)), "none");
}

TEST(CronNextAfterTest, RollsOverMonthAndYear) {
  EXPECT_EQ(next("59 23 31 12 *", utc(2026, 12, 31, 23, 59)), "2027-12-31 23:59:00");
  EXPECT_EQ(next("0 0 1 * *", utc(2026, 12, 15)), "2027-01-01 00:00:00");
  EXPECT_EQ(next("30 * * * *", utc(2026, 12, 31, 23, 45)), "2027-01-01 00:30:00");
  EXPECT_EQ(next("* * * * * *", utc(2026, 12, 31, 23, 59, 59)), "2027-01-01 00:00:00");
}

TEST(CronNextAfterTest, IsStrictlyAfterAnExactMatch) {
  EXPECT_EQ(next("0 12 * * *", utc(2026, 1, 1, 12)), "2026-01-02 12:00:00");
  EXPECT_EQ(next("0 12 * * *", utc(2026, 1, 1, 11, 59, 59)), "2026-01-01 12:00:00");
  EXPECT_EQ(next("0 12 * * *", utc(2026, 1, 1, 12, 0, 1)), "2026-01-02 12:00:00");
}

TEST(CronNextAfterTest, OutOfCalendarInputsGiveNoTime) {
  const auto expression = parse_ok("* * * * *");
  ASSERT_TRUE(expression);
  EXPECT_FALSE(expression->next_after(std::chrono::sys_seconds::max()));
  EXPECT_FALSE(expression->next_after(std::chrono::sys_seconds::min()));
}

}  // namespace
}  // namespace backupy::cron
