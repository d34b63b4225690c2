#pragma once
// Cron schedules for agent-side and control-plane job scheduling, evaluated in
// UTC or, with a CRON_TZ prefix, in the wall time of an IANA time zone.
//
// Grammar: an optional "CRON_TZ=<zone> " prefix, then 5 fields (minute hour
// day-of-month month day-of-week), or 6 with a leading seconds field, or one of
// the macros @yearly @annually @monthly @weekly @daily @midnight @hourly. Each
// field is a comma list of '*', '?' (same as '*'), a value, a range a-b, or a
// step */n, a-b/n, a/n (a up to the field's maximum). Month names JAN-DEC and
// day names SUN-SAT are accepted in any case; day-of-week takes 0-7 where both
// 0 and 7 are Sunday.
//
// Day matching follows Vixie cron: when both day-of-month and day-of-week are
// restricted, a day matches if either one does; a field whose text begins with
// '*' or '?' (including "*/2") counts as unrestricted, exactly as in Vixie.
//
// Time zones: without a prefix the fields are UTC wall time (the wire
// contract's default). "CRON_TZ=Europe/Berlin 30 2 * * *" matches the fields
// against Europe/Berlin's wall clock and next_after() returns the UTC instant.
// Zones come from the OS time zone database (/usr/share/zoneinfo, Debian
// package tzdata) through Howard Hinnant's date/tz; names are case-sensitive
// IANA names or links ("US/Eastern"). "CRON_TZ=UTC" needs no database. Only
// CRON_TZ is accepted: in cronie "TZ=" sets the job's environment rather than
// the schedule's zone, so "TZ=..." is refused instead of guessed at. Debian's
// date/tz reads the transition tables of the zone files, which end in 2037:
// later instants keep the last offset before 2038 (no DST changes).
//
// Daylight-saving transitions (cronie's rule, stated per instant):
//  - A job whose minute and hour fields are both restricted (neither begins
//    with '*' or '?', e.g. "30 2 * * *", "0 1-3 * * *", @daily) is a
//    *fixed-time* job. A wall time it names that the clock skips (the
//    spring-forward gap, 02:30 when 02:00 jumps to 03:00) fires once, at the
//    first instant after the gap (03:00 new wall time); if that instant is a
//    match of its own, the two are one fire. A wall time that occurs twice (the
//    fall-back overlap) fires only at its first occurrence.
//  - Every other job (a '*' minute or hour: "*/15 * * * *", "0 * * * *",
//    @hourly) fires at each real instant whose wall time matches: nothing in a
//    gap, and in an overlap both occurrences (the repeated hour runs twice,
//    just as the hour really passes twice).
#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace date {
class time_zone;
}

namespace backupy::cron {

class CronExpression {
 public:
  // Returns the parsed expression, or an error line naming the offending field,
  // e.g. "cron field 'hour' (value \"25\"): 25 is out of range 0-23", or the
  // zone: "CRON_TZ \"Mars/Olympus\" is not a known time zone". Invalid input
  // never throws: configs come from the server and must be reported, not crash
  // the agent.
  static std::variant<CronExpression, std::string> parse(std::string_view text);

  // The first fire time strictly after `after` (UTC), or nullopt if there is
  // none within five years (e.g. "0 0 30 2 *"), or if `after` lies outside the
  // years 1-9989. With a CRON_TZ zone the fields are matched in that zone's
  // wall time, with the daylight-saving rule above.
  std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds after) const;

  // The expression as given (including any CRON_TZ prefix), without
  // surrounding whitespace.
  const std::string& text() const { return text_; }

  // The zone the fields are evaluated in: the CRON_TZ name as written, or
  // "UTC" when there is no prefix.
  const std::string& zone_name() const { return zone_name_; }

 private:
  // One bit per allowed value: seconds/minutes 0-59, hours 0-23, days of month
  // 1-31, months 1-12, days of week 0-6 (Sunday = 0).
  using ValueSet = std::bitset<64>;
  using Wall = std::chrono::sys_seconds;  // a wall-clock reading, calendar math as in UTC

  CronExpression() = default;
  bool day_matches(std::chrono::year_month_day date) const;
  // The first wall time in [from, end) that the fields match.
  std::optional<Wall> next_wall_match(Wall from, Wall end) const;

  std::string text_;
  std::string zone_name_ = "UTC";
  const date::time_zone* zone_ = nullptr;  // owned by date's tzdb (lives as long as the process)
  ValueSet seconds_;
  ValueSet minutes_;
  ValueSet hours_;
  ValueSet days_of_month_;
  ValueSet months_;
  ValueSet days_of_week_;
  bool day_of_month_unrestricted_ = true;
  bool day_of_week_unrestricted_ = true;
  bool fixed_time_ = false;  // minute and hour both restricted: see the DST rule above
};

}  // namespace backupy::cron
