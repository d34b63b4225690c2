// CronExpression::next_after: walks the UTC time line one offset period of the
// zone at a time (UTC is a single endless period). Inside a period, wall time is
// UTC + a fixed offset, so the fields are searched in wall time, largest unit
// first, jumping to the next allowed month, day, hour and minute: even a
// five-year search for an impossible date takes a few thousand steps per period
// (about ten periods in five years) rather than 150 million seconds.
#include <algorithm>
#include <optional>

#include "backupy/cron/cron.hpp"
#include "zone.hpp"

namespace backupy::cron {
namespace {

// The smallest allowed value in [from, max], if any.
std::optional<int> next_allowed(const std::bitset<64>& allowed, int from, int max) {
  for (int value = from; value <= max; ++value) {
    if (allowed.test(static_cast<std::size_t>(value))) return value;
  }
  return std::nullopt;
}

}  // namespace

bool CronExpression::day_matches(std::chrono::year_month_day date) const {
  const bool by_month_day = days_of_month_.test(static_cast<unsigned>(date.day()));
  const bool by_week_day =
      days_of_week_.test(std::chrono::weekday{std::chrono::sys_days{date}}.c_encoding());
  // Vixie: "0 0 1,15 * MON" means the 1st, the 15th and every Monday.
  if (day_of_month_unrestricted_ || day_of_week_unrestricted_) return by_month_day && by_week_day;
  return by_month_day || by_week_day;
}

std::optional<CronExpression::Wall> CronExpression::next_wall_match(Wall from, Wall end) const {
  using namespace std::chrono;
  Wall candidate = from;
  while (candidate < end) {
    const sys_days day = floor<days>(candidate);
    const year_month_day date{day};
    if (!months_.test(static_cast<unsigned>(date.month()))) {
      candidate = sys_days{date.year() / date.month() / 1 + months{1}};
      continue;
    }
    if (!day_matches(date)) {
      candidate = day + days{1};
      continue;
    }

    const hh_mm_ss time{candidate - day};
    const int hour = static_cast<int>(time.hours().count());
    const std::optional<int> next_hour = next_allowed(hours_, hour, 23);
    if (!next_hour) {
      candidate = day + days{1};
      continue;
    }
    if (*next_hour != hour) {
      candidate = day + hours{*next_hour};
      continue;
    }

    const int minute = static_cast<int>(time.minutes().count());
    const std::optional<int> next_minute = next_allowed(minutes_, minute, 59);
    if (!next_minute) {
      candidate = day + hours{hour + 1};
      continue;
    }
    if (*next_minute != minute) {
      candidate = day + hours{hour} + minutes{*next_minute};
      continue;
    }

    const int second = static_cast<int>(time.seconds().count());
    const std::optional<int> next_second = next_allowed(seconds_, second, 59);
    if (!next_second) {
      candidate = day + hours{hour} + minutes{minute + 1};
      continue;
    }
    const Wall match = day + hours{hour} + minutes{minute} + seconds{*next_second};
    if (match >= end) break;
    return match;
  }
  return std::nullopt;
}

std::optional<std::chrono::sys_seconds> CronExpression::next_after(
    std::chrono::sys_seconds after) const {
  using namespace std::chrono;
  // Calendar arithmetic is only defined for years chrono can represent; keep
  // well inside them so absurd inputs (and wall = UTC + offset) cannot overflow.
  static constexpr sys_days kEarliest{year{1} / January / 1};
  static constexpr sys_days kLatest{year{9990} / January / 1};
  if (after < kEarliest || after >= kLatest) return std::nullopt;

  const sys_seconds limit = after + years{5};
  sys_seconds from = after + seconds{1};  // the earliest instant that may fire
  while (from <= limit) {
    const detail::OffsetPeriod period = detail::offset_period(zone_, from);
    const sys_seconds end = std::min(period.end, limit + seconds{1});
    Wall start = from + period.offset;
    if (fixed_time_ && zone_ != nullptr && period.begin > kEarliest) {
      // Where the previous period's wall clock stopped.
      const seconds previous = detail::offset_period(zone_, period.begin - seconds{1}).offset;
      const Wall carried = period.begin + previous;
      if (previous > period.offset) {
        // Fall-back overlap: wall times before `carried` were shown already.
        start = std::max(start, carried);
      } else if (from == period.begin) {
        // Spring-forward gap (or no change): wall times in [carried, start)
        // were never shown; they fire at period.begin, the end of the gap.
        start = carried;
      }
    }
    if (const std::optional<Wall> wall = next_wall_match(start, end + period.offset)) {
      return std::max(*wall - period.offset, period.begin);
    }
    from = period.end;
  }
  return std::nullopt;
}

}  // namespace backupy::cron
