#include "backupy/scheduling/catch_up.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "test_time.hpp"

namespace backupy::scheduling {
namespace {

using namespace test_time;

TEST(MissedFireTest, NothingMissed) {
  const auto daily = cron_of("0 3 * * *");
  // Fired today at 03:00, now 10:00.
  EXPECT_EQ(missed_fire(daily, nov(17, 3), nov(17, 10)), std::nullopt);
  // Fired yesterday, today's instant not reached yet.
  EXPECT_EQ(missed_fire(daily, nov(16, 3), nov(17, 2, 59, 59)), std::nullopt);
  // The clock is behind the last fire (it was set back).
  EXPECT_EQ(missed_fire(daily, nov(17, 3), nov(16, 12)), std::nullopt);
}

TEST(MissedFireTest, AMissWithinOnePeriodFiresTheLatestInstant) {
  const auto daily = cron_of("0 3 * * *");
  EXPECT_EQ(missed_fire(daily, nov(16, 3), nov(17, 10)), nov(17, 3));
  EXPECT_EQ(missed_fire(daily, nov(16, 3), nov(18, 2, 59, 59)), nov(17, 3));  // 1 s short
  // The range is (last_fire, now]: an instant at now counts.
  EXPECT_EQ(missed_fire(daily, nov(16, 3), nov(17, 3)), nov(17, 3));
}

TEST(MissedFireTest, MissesOlderThanOnePeriodAreNotCaughtUp) {
  const auto daily = cron_of("0 3 * * *");
  // Down from Monday 03:00 to Thursday 02:00: Tuesday's 03:00 is 47 h late (more than one
  // period) and never fires; Wednesday's, 23 h late, is the one catch-up.
  EXPECT_EQ(missed_fire(daily, nov(16, 3), nov(19, 2)), nov(18, 3));
  // Down for a week: still one fire, the latest.
  EXPECT_EQ(missed_fire(daily, nov(9, 3), nov(16, 12)), nov(16, 3));
  const auto hourly = cron_of("@hourly");
  EXPECT_EQ(missed_fire(hourly, nov(16, 8), nov(16, 11, 30)), nov(16, 11));
}

TEST(MissedFireTest, IrregularPeriodIsTheGapToTheNextInstant) {
  const auto weekdays = cron_of("0 9 * * MON-FRI");
  // Friday 09:00 missed, checked Monday 08:00: 71 h late, and its period runs to Monday
  // 09:00 (72 h), so it still runs.
  EXPECT_EQ(missed_fire(weekdays, nov(19, 9), nov(23, 8)), nov(20, 9));
  // Checked Monday 10:00: Monday's own instant is the latest.
  EXPECT_EQ(missed_fire(weekdays, nov(19, 9), nov(23, 10)), nov(23, 9));
  // Over the weekend nothing new: Friday's fire happened.
  EXPECT_EQ(missed_fire(weekdays, nov(20, 9), nov(22, 23)), std::nullopt);
}

TEST(MissedFireTest, NeverFiringCronMissesNothing) {
  EXPECT_EQ(missed_fire(cron_of("0 0 30 2 *"), nov(1), nov(30)), std::nullopt);
}

TEST(MissedFireTest, SecondsLevelCronAfterLongDowntimeStaysBounded) {
  const auto every7 = cron_of("*/7 * * * * *");  // seconds 0, 7, ..., 56
  const auto started = std::chrono::steady_clock::now();
  // A day and a half down, then a year: walking every instant would be 18 M next_after calls.
  EXPECT_EQ(missed_fire(every7, nov(16), nov(17, 12, 30, 59)), nov(17, 12, 30, 56));
  EXPECT_EQ(missed_fire(every7, nov(16) - std::chrono::days{365}, nov(17, 12, 31, 3)),
            nov(17, 12, 31, 0));
  const auto every_second = cron_of("* * * * * *");
  EXPECT_EQ(missed_fire(every_second, nov(1), nov(20, 1, 2, 3)), nov(20, 1, 2, 3));
  // No timing assertion (a loaded machine); recorded for whoever reads the XML report.
  RecordProperty("elapsed_us", std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::steady_clock::now() - started)
                                                  .count()));
}

// The bisection agrees with a plain forward walk on a mix of schedules and ranges.
TEST(MissedFireTest, AgreesWithAForwardWalk) {
  const std::vector<std::string> crons = {"*/13 */20 * * * *", "5 4 * * SUN", "0 */3 * * *",
                                          "30 2 1-7 * MON",    "0 0 29 2 *",  "15,45 * * * *",
                                          "0 9 * * MON-FRI",   "0 0 1 * *",   "7 7 7 * *"};
  const std::vector<std::pair<sys_seconds, sys_seconds>> ranges = {
      {nov(16, 3), nov(16, 3, 0, 1)},
      {nov(16, 3, 0, 30), nov(16, 5, 17, 11)},
      {nov(1), nov(22, 23, 59, 59)},
      {nov(20, 9), nov(23, 9)},
      {nov(1) - std::chrono::days{90}, nov(5, 7, 7)}};
  for (const std::string& text : crons) {
    const auto expr = cron_of(text);
    for (const auto& [last, now] : ranges) {
      std::optional<sys_seconds> expected;
      for (auto at = expr.next_after(last); at && *at <= now; at = expr.next_after(*at)) {
        expected = at;
      }
      EXPECT_EQ(missed_fire(expr, last, now), expected)
          << text << " last=" << last.time_since_epoch().count()
          << " now=" << now.time_since_epoch().count();
    }
  }
}

}  // namespace
}  // namespace backupy::scheduling
