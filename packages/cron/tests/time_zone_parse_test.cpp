// CronExpression::parse with a CRON_TZ prefix: what is accepted, what text()
// and zone_name() keep, and the error lines for bad zones.
#include <gtest/gtest.h>

#include "cron_test_support.hpp"

namespace backupy::cron {
namespace {

using testing::next;
using testing::parse_error;
using testing::parse_ok;
using testing::utc;

TEST(CronTimeZoneParseTest, KeepsTheWholeTextAndNamesTheZone) {
  const auto expression = parse_ok("  CRON_TZ=Europe/Berlin 30 2 * * *\n");
  ASSERT_TRUE(expression);
  EXPECT_EQ(expression->text(), "CRON_TZ=Europe/Berlin 30 2 * * *");
  EXPECT_EQ(expression->zone_name(), "Europe/Berlin");
}

TEST(CronTimeZoneParseTest, WithoutAPrefixTheZoneIsUtc) {
  const auto expression = parse_ok("30 2 * * *");
  ASSERT_TRUE(expression);
  EXPECT_EQ(expression->zone_name(), "UTC");
  EXPECT_EQ(expression->text(), "30 2 * * *");
}

TEST(CronTimeZoneParseTest, AnyWhitespaceSeparatesTheZoneFromTheFields) {
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin \t  30 2 * * *", utc(2026, 1, 1)), "2026-01-01 01:30:00");
}

TEST(CronTimeZoneParseTest, MacrosAndSecondsFieldsFollowThePrefix) {
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin @daily", utc(2026, 1, 1, 12)), "2026-01-01 23:00:00");
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin @HOURLY", utc(2026, 1, 1, 12, 1)), "2026-01-01 13:00:00");
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 30 0 3 * * *", utc(2026, 1, 1)), "2026-01-01 02:00:30");
}

TEST(CronTimeZoneParseTest, UtcNeedsNoDatabaseAndMatchesNoPrefix) {
  for (const char* text : {"CRON_TZ=UTC 0 3 * * *", "CRON_TZ=Etc/UTC 0 3 * * *", "0 3 * * *"}) {
    EXPECT_EQ(next(text, utc(2026, 7, 1)), "2026-07-01 03:00:00") << text;
  }
}

TEST(CronTimeZoneParseTest, LinksAndFixedOffsetZonesWork) {
  // US/Eastern is a link to America/New_York: 03:00 EDT = 07:00 UTC.
  EXPECT_EQ(next("CRON_TZ=US/Eastern 0 3 * * *", utc(2026, 7, 1)), "2026-07-01 07:00:00");
  // POSIX sign convention: Etc/GMT+5 is five hours *behind* UTC.
  EXPECT_EQ(next("CRON_TZ=Etc/GMT+5 0 0 * * *", utc(2026, 7, 1)), "2026-07-01 05:00:00");
}

TEST(CronTimeZoneParseTest, UnknownZonesAreNamed) {
  EXPECT_EQ(parse_error("CRON_TZ=Mars/Olympus 30 2 * * *"),
            "CRON_TZ \"Mars/Olympus\" is not a known time zone");
  // Names are case-sensitive, as in the IANA database.
  EXPECT_EQ(parse_error("CRON_TZ=europe/berlin 30 2 * * *"),
            "CRON_TZ \"europe/berlin\" is not a known time zone");
  // Not file paths, and not the host's own zone (the agent and the control
  // plane must read an expression alike).
  EXPECT_EQ(parse_error("CRON_TZ=../../etc/passwd 0 3 * * *"),
            "CRON_TZ \"../../etc/passwd\" is not a known time zone");
  EXPECT_EQ(parse_error("CRON_TZ=localtime 0 3 * * *"),
            "CRON_TZ \"localtime\" is not a known time zone");
  EXPECT_EQ(parse_error("CRON_TZ=posix/Europe/Berlin 0 3 * * *"),
            "CRON_TZ \"posix/Europe/Berlin\" is not a known time zone");
}

TEST(CronTimeZoneParseTest, ZoneNamesAreEscapedInErrors) {
  EXPECT_EQ(parse_error("CRON_TZ=a\"b\x01 0 3 * * *"),
            "CRON_TZ \"a\\\"b\\x01\" is not a known time zone");
}

TEST(CronTimeZoneParseTest, PrefixWithoutZoneOrSchedule) {
  EXPECT_EQ(parse_error("CRON_TZ= 0 3 * * *"),
            "CRON_TZ= needs a time zone name, e.g. CRON_TZ=Europe/Berlin 30 2 * * *");
  EXPECT_EQ(parse_error("CRON_TZ="), parse_error("CRON_TZ= 0 3 * * *"));
  EXPECT_EQ(parse_error("CRON_TZ=Europe/Berlin   "),
            "cron expression \"CRON_TZ=Europe/Berlin\" has no schedule after the time zone");
}

TEST(CronTimeZoneParseTest, FieldErrorsStillNameTheField) {
  EXPECT_EQ(parse_error("CRON_TZ=Europe/Berlin 0 25 * * *"),
            "cron field 'hour' (value \"25\"): 25 is out of range 0-23");
  EXPECT_EQ(parse_error("CRON_TZ=Europe/Berlin 0 0 * * 5-1"),
            "cron field 'day-of-week' (value \"5-1\"): range 5-1 is reversed (start 5 is after "
            "end 1)");
  EXPECT_EQ(parse_error("CRON_TZ=Europe/Berlin 0 3 * *"),
            "cron expression \"CRON_TZ=Europe/Berlin 0 3 * *\" has 4 fields; expected 5 (minute "
            "hour day-of-month month day-of-week) or 6 (second minute hour day-of-month month "
            "day-of-week)");
  EXPECT_EQ(parse_error("CRON_TZ=Europe/Berlin @fortnightly"),
            "unknown cron macro \"@fortnightly\" (expected one of @yearly @annually @monthly "
            "@weekly @daily @midnight @hourly)");
}

TEST(CronTimeZoneParseTest, TzPrefixIsRefusedWithAHint) {
  const std::string expected =
      "TZ= is not supported; write CRON_TZ=<zone> (e.g. CRON_TZ=Europe/Berlin 30 2 * * *) to "
      "evaluate a schedule in a time zone";
  EXPECT_EQ(parse_error("TZ=UTC 0 3 * * *"), expected);
  EXPECT_EQ(parse_error("  TZ=Europe/Berlin 0 3 * * *"), expected);
}

}  // namespace
}  // namespace backupy::cron
