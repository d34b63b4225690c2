// CronExpression::next_after with CRON_TZ: daylight-saving gaps and overlaps
// (both directions, fixed-time and wildcard jobs), a 30-minute DST shift,
// local dates that differ from the UTC date, and year and leap-day edges.
// Expected instants are UTC, worked out by hand from the zones' published
// transitions (2026):
//   Europe/Berlin       CET+1 -> CEST+2 at 03-29 01:00 UTC, back at 10-25 01:00 UTC
//   America/New_York    EST-5 -> EDT-4  at 03-08 07:00 UTC, back at 11-01 06:00 UTC
//   Australia/Lord_Howe +11 -> +10:30   at 04-04 15:00 UTC, back at 10-03 15:30 UTC
//   America/Santiago    -3 -> -4        at 04-05 03:00 UTC, back at 09-06 04:00 UTC
// The property tests check every fire of a whole year against date/tz's own
// UTC-to-local conversion, which the search never uses in that direction.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <map>

#include "cron_test_support.hpp"

namespace backupy::cron {
namespace {

using std::chrono::minutes;
using std::chrono::sys_seconds;
using testing::fires;
using testing::next;
using testing::parse_ok;
using testing::utc;
using Fires = std::vector<std::string>;

// ------------------------------------------------------------ spring forward --

TEST(CronTimeZoneTest, BerlinFixedTimeInTheGapFiresWhenTheGapEnds) {
  // 02:30 does not exist on 03-29 (02:00 CET jumps to 03:00 CEST): it fires at
  // 03:00 CEST = 01:00 UTC, once.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 3, 28), 3),
            (Fires{"2026-03-28 01:30:00", "2026-03-29 01:00:00", "2026-03-30 00:30:00"}));
  // Exactly at the end of the gap, and a second before it.
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 3, 29, 0, 59, 59)),
            "2026-03-29 01:00:00");
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 3, 29, 1)), "2026-03-30 00:30:00");
}

TEST(CronTimeZoneTest, BerlinGapFireAndARegularMatchAtTheGapEndAreOneFire) {
  // 02:00 (skipped) and 03:00 (the first instant after the gap) are the same instant.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin 0 2,3 * * *", utc(2026, 3, 29), 3),
            (Fires{"2026-03-29 01:00:00", "2026-03-30 00:00:00", "2026-03-30 01:00:00"}));
}

TEST(CronTimeZoneTest, BerlinWildcardJobsSkipTheGap) {
  // */15 follows real instants: 01:45 CET, then 03:00 CEST.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin */15 * * * *", utc(2026, 3, 29, 0, 30), 3),
            (Fires{"2026-03-29 00:45:00", "2026-03-29 01:00:00", "2026-03-29 01:15:00"}));
  // A '*' minute makes it a wildcard job even with a fixed hour: 02:xx never
  // happens on 03-29, so nothing fires that day.
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin */15 2 * * *", utc(2026, 3, 28, 1, 45)),
            "2026-03-30 00:00:00");
}

TEST(CronTimeZoneTest, NewYorkFixedTimeInTheGapFiresWhenTheGapEnds) {
  // 02:30 on 03-08 does not exist: fires at 03:00 EDT = 07:00 UTC.
  EXPECT_EQ(fires("CRON_TZ=America/New_York 30 2 * * *", utc(2026, 3, 7), 3),
            (Fires{"2026-03-07 07:30:00", "2026-03-08 07:00:00", "2026-03-09 06:30:00"}));
}

TEST(CronTimeZoneTest, NewYorkWildcardJobsSkipTheGap) {
  EXPECT_EQ(fires("CRON_TZ=America/New_York */15 * * * *", utc(2026, 3, 8, 6, 40), 3),
            (Fires{"2026-03-08 06:45:00", "2026-03-08 07:00:00", "2026-03-08 07:15:00"}));
}

TEST(CronTimeZoneTest, SecondsOfAFixedTimeInTheGapCollapseIntoOneFire) {
  // 02:30:00, 02:30:20 and 02:30:40 are all skipped: one fire at the gap's end.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin */20 30 2 * * *", utc(2026, 3, 29), 4),
            (Fires{"2026-03-29 01:00:00", "2026-03-30 00:30:00", "2026-03-30 00:30:20",
                   "2026-03-30 00:30:40"}));
  // The gap's end, not 03:00:15.
  EXPECT_EQ(next("CRON_TZ=America/New_York 15 30 2 * * *", utc(2026, 3, 8)), "2026-03-08 07:00:00");
}

// ------------------------------------------------------------------ fall back --

TEST(CronTimeZoneTest, BerlinFixedTimeInTheOverlapFiresOnceAtTheFirstOccurrence) {
  // 02:30 on 10-25 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 10, 24, 12), 2),
            (Fires{"2026-10-25 00:30:00", "2026-10-26 01:30:00"}));
  // Asked between the two occurrences, or during the second one.
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 10, 25, 0, 40)),
            "2026-10-26 01:30:00");
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 30 2 * * *", utc(2026, 10, 25, 1, 10)),
            "2026-10-26 01:30:00");
  // 03:00 comes only once (CET), after the repeated hour.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin 0 2,3 * * *", utc(2026, 10, 24, 23), 3),
            (Fires{"2026-10-25 00:00:00", "2026-10-25 02:00:00", "2026-10-26 01:00:00"}));
}

TEST(CronTimeZoneTest, BerlinWildcardJobsRunTheRepeatedHourTwice) {
  // Every real quarter hour: 02:00-02:45 CEST, then 02:00-02:45 CET again.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin */15 * * * *", utc(2026, 10, 24, 23, 50), 9),
            (Fires{"2026-10-25 00:00:00", "2026-10-25 00:15:00", "2026-10-25 00:30:00",
                   "2026-10-25 00:45:00", "2026-10-25 01:00:00", "2026-10-25 01:15:00",
                   "2026-10-25 01:30:00", "2026-10-25 01:45:00", "2026-10-25 02:00:00"}));
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin @hourly", utc(2026, 10, 24, 23, 30), 4),
            (Fires{"2026-10-25 00:00:00", "2026-10-25 01:00:00", "2026-10-25 02:00:00",
                   "2026-10-25 03:00:00"}));
}

TEST(CronTimeZoneTest, NewYorkFixedTimeInTheOverlapFiresOnce) {
  // 01:30 on 11-01 is 05:30 UTC (EDT) and 06:30 UTC (EST): only the first.
  EXPECT_EQ(fires("CRON_TZ=America/New_York 30 1 * * *", utc(2026, 10, 31, 12), 2),
            (Fires{"2026-11-01 05:30:00", "2026-11-02 06:30:00"}));
  EXPECT_EQ(next("CRON_TZ=America/New_York 30 1 * * *", utc(2026, 11, 1, 5, 45)),
            "2026-11-02 06:30:00");
}

TEST(CronTimeZoneTest, NewYorkWildcardJobsRunTheRepeatedHourTwice) {
  EXPECT_EQ(fires("CRON_TZ=America/New_York */30 * * * *", utc(2026, 11, 1, 4, 50), 5),
            (Fires{"2026-11-01 05:00:00", "2026-11-01 05:30:00", "2026-11-01 06:00:00",
                   "2026-11-01 06:30:00", "2026-11-01 07:00:00"}));
}

// ----------------------------------------------------- a 30-minute DST shift --

TEST(CronTimeZoneTest, LordHoweHalfHourGap) {
  // 10-04 02:00 +10:30 jumps to 02:30 +11 (15:30 UTC on 10-03): 02:15 fires at 02:30.
  EXPECT_EQ(fires("CRON_TZ=Australia/Lord_Howe 15 2 * * *", utc(2026, 10, 3), 2),
            (Fires{"2026-10-03 15:30:00", "2026-10-04 15:15:00"}));
  EXPECT_EQ(fires("CRON_TZ=Australia/Lord_Howe */15 * * * *", utc(2026, 10, 3, 15, 10), 3),
            (Fires{"2026-10-03 15:15:00", "2026-10-03 15:30:00", "2026-10-03 15:45:00"}));
}

TEST(CronTimeZoneTest, LordHoweHalfHourOverlap) {
  // 04-05 02:00 +11 falls back to 01:30 +10:30 (15:00 UTC on 04-04): 01:30-01:59 twice.
  EXPECT_EQ(fires("CRON_TZ=Australia/Lord_Howe 45 1 * * *", utc(2026, 4, 4, 12), 2),
            (Fires{"2026-04-04 14:45:00", "2026-04-05 15:15:00"}));
  EXPECT_EQ(fires("CRON_TZ=Australia/Lord_Howe */15 * * * *", utc(2026, 4, 4, 14, 20), 5),
            (Fires{"2026-04-04 14:30:00", "2026-04-04 14:45:00", "2026-04-04 15:00:00",
                   "2026-04-04 15:15:00", "2026-04-04 15:30:00"}));
}

// -------------------------------------------------------------- midnight gaps --

TEST(CronTimeZoneTest, DailyInAZoneFollowsLocalMidnight) {
  // Berlin midnight is 23:00 UTC in winter and 22:00 UTC in summer.
  EXPECT_EQ(fires("CRON_TZ=Europe/Berlin @daily", utc(2026, 3, 27, 12), 3),
            (Fires{"2026-03-27 23:00:00", "2026-03-28 23:00:00", "2026-03-29 22:00:00"}));
}

TEST(CronTimeZoneTest, DailyWhereTheGapSwallowsMidnight) {
  // Santiago skips 09-06 00:00-00:59 (-04 -> -03 at 04:00 UTC): @daily fires at 01:00.
  EXPECT_EQ(fires("CRON_TZ=America/Santiago @daily", utc(2026, 9, 5), 3),
            (Fires{"2026-09-05 04:00:00", "2026-09-06 04:00:00", "2026-09-07 03:00:00"}));
  // And on 04-04 23:00-23:59 repeats (-03 -> -04 at 03:00 UTC on 04-05): once a day still.
  EXPECT_EQ(fires("CRON_TZ=America/Santiago 30 23 * * *", utc(2026, 4, 4, 12), 2),
            (Fires{"2026-04-05 02:30:00", "2026-04-06 03:30:00"}));
}

// --------------------------------------- local dates that differ from UTC dates --

TEST(CronTimeZoneTest, DayOfWeekIsTheLocalDay) {
  // Monday 07:00 in Tokyo is Sunday 22:00 UTC.
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo 0 7 * * MON", utc(2026, 1, 1), 2),
            (Fires{"2026-01-04 22:00:00", "2026-01-11 22:00:00"}));
}

TEST(CronTimeZoneTest, VixieOrRuleUsesLocalDates) {
  // The 13th or any Friday, 07:00 Tokyo: each fire is the previous UTC day.
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo 0 7 13 * FRI", utc(2026, 1, 1), 4),
            (Fires{"2026-01-01 22:00:00", "2026-01-08 22:00:00", "2026-01-12 22:00:00",
                   "2026-01-15 22:00:00"}));
  // West of UTC the UTC date is the next one: the 1st at 20:00 PST is the 2nd, 04:00 UTC.
  EXPECT_EQ(fires("CRON_TZ=America/Los_Angeles 0 20 1 * *", utc(2026, 1, 1), 2),
            (Fires{"2026-01-02 04:00:00", "2026-02-02 04:00:00"}));
}

TEST(CronTimeZoneTest, FebruaryTwentyNinthInAZone) {
  // From a non-leap year to the next leap day, 00:00 JST = 15:00 UTC on the 28th.
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo 0 0 29 2 *", utc(2026, 3, 1), 2),
            (Fires{"2028-02-28 15:00:00", "2032-02-28 15:00:00"}));
  // 23:00 on 02-28 UTC is already the 29th in Tokyo, 00:00 on 03-01 UTC is not.
  EXPECT_EQ(next("CRON_TZ=Asia/Tokyo 0 12 29 2 *", utc(2028, 2, 28, 23)), "2028-02-29 03:00:00");
  EXPECT_EQ(next("CRON_TZ=America/Los_Angeles 0 0 29 2 *", utc(2026, 3, 1)), "2028-02-29 08:00:00");
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin 0 0 30 2 *", utc(2026, 1, 1)), "none");
}

TEST(CronTimeZoneTest, AcrossTheYearBoundary) {
  // 23:30 on New Year's Eve in New York is already next year in UTC.
  EXPECT_EQ(fires("CRON_TZ=America/New_York 30 23 31 12 *", utc(2026, 12, 31, 12), 2),
            (Fires{"2027-01-01 04:30:00", "2028-01-01 04:30:00"}));
  // @yearly in Tokyo fires in the old year, UTC.
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo @yearly", utc(2026, 6, 1), 2),
            (Fires{"2026-12-31 15:00:00", "2027-12-31 15:00:00"}));
  EXPECT_EQ(next("CRON_TZ=Europe/Berlin * * * * * *", utc(2026, 12, 31, 22, 59, 59)),
            "2026-12-31 23:00:00");
}

TEST(CronTimeZoneTest, SecondsFieldInAZone) {
  EXPECT_EQ(fires("CRON_TZ=America/New_York 10,40 0 9 * * MON-FRI", utc(2026, 7, 3), 3),
            (Fires{"2026-07-03 13:00:10", "2026-07-03 13:00:40", "2026-07-06 13:00:10"}));
}

TEST(CronTimeZoneTest, ImpossibleDateSearchStaysBounded) {
  // Five years of DST periods, each searched by field jumps: returns at once.
  const auto expression = parse_ok("CRON_TZ=Europe/Berlin 0 0 31 4,6,9,11 *");
  ASSERT_TRUE(expression);
  for (int year = 2020; year < 2030; ++year) {
    EXPECT_FALSE(expression->next_after(utc(year, 1, 1)));
  }
}

// -------------------------------------------------------- whole-year properties --

// Local wall time of a UTC instant, "YYYY-MM-DD HH:MM:SS", via date/tz's own
// sys->local conversion.
std::string local(const date::time_zone* zone, sys_seconds at) {
  return testing::show(sys_seconds{zone->to_local(at).time_since_epoch()});
}

struct ZoneYear {
  const char* zone;
  int days_without_0215;  // 1 where the spring-forward gap swallows 02:15
};

void PrintTo(const ZoneYear& param, std::ostream* os) {
  *os << param.zone;
}

class CronTimeZoneYearTest : public ::testing::TestWithParam<ZoneYear> {};

TEST_P(CronTimeZoneYearTest, QuarterHourJobFiresEveryRealQuarterHour) {
  const auto expression = parse_ok(std::string("CRON_TZ=") + GetParam().zone + " */15 * * * *");
  ASSERT_TRUE(expression);
  // Every zone in the list has whole-quarter-hour offsets, so every real
  // quarter hour is a match: no gap, no double beyond what the clock does.
  sys_seconds at = utc(2026, 1, 1);
  int count = 0;
  while (at < utc(2027, 1, 1)) {
    const auto fire = expression->next_after(at);
    ASSERT_TRUE(fire);
    ASSERT_EQ(*fire - at, minutes{15}) << testing::show(at);
    at = *fire;
    ++count;
  }
  EXPECT_EQ(count, 365 * 24 * 4);
}

TEST_P(CronTimeZoneYearTest, FixedTimeJobFiresOncePerLocalDay) {
  const date::time_zone* zone = date::locate_zone(GetParam().zone);
  const auto expression = parse_ok(std::string("CRON_TZ=") + GetParam().zone + " 15 2 * * *");
  ASSERT_TRUE(expression);
  std::map<std::string, std::string> by_local_day;  // local date -> local time
  std::optional<sys_seconds> at = utc(2026, 1, 1);
  while ((at = expression->next_after(*at)) && *at < utc(2027, 1, 1)) {
    const std::string wall = local(zone, *at);
    EXPECT_TRUE(by_local_day.emplace(wall.substr(0, 10), wall.substr(11)).second)
        << "two fires on local day " << wall;
  }
  int skipped = 0;
  for (const auto& [day, time] : by_local_day) {
    if (time == "02:15:00") continue;
    ++skipped;
    // The spring-forward day: the first instant after the gap.
    EXPECT_TRUE(time == "03:00:00" || time == "02:30:00") << day << " " << time;
  }
  EXPECT_EQ(skipped, GetParam().days_without_0215);
  // A whole year of UTC holds 365 local 02:15s, whichever side of UTC.
  EXPECT_EQ(by_local_day.size(), 365u);
}

INSTANTIATE_TEST_SUITE_P(Zones, CronTimeZoneYearTest,
                         ::testing::Values(ZoneYear{"Europe/Berlin", 1},
                                           ZoneYear{"America/New_York", 1},
                                           ZoneYear{"Australia/Lord_Howe", 1},
                                           // its gap is 00:00-00:59
                                           ZoneYear{"America/Santiago", 0}, ZoneYear{"UTC", 0}),
                         [](const auto& info) {
                           std::string name = info.param.zone;
                           for (char& c : name) {
                             if (c == '/') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace backupy::cron
