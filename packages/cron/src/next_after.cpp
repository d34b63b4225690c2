// CronExpression::next_after: walks forward largest unit first, jumping to the
// next allowed month, day, hour and minute, so even a five-year search for an
// impossible date takes a few thousand steps rather than 150 million seconds.
#include <optional>

#include "backupy/cron/cron.hpp"

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

std::optional<std::chrono::sys_seconds> CronExpression::next_after(
    std::chrono::sys_seconds after) const {
  using namespace std::chrono;
  // Calendar arithmetic is only defined for years chrono can represent; keep
  // well inside them so absurd inputs cannot overflow.
  static constexpr sys_days kEarliest{year{1} / January / 1};
  static constexpr sys_days kLatest{year{9990} / January / 1};
  if (after < kEarliest || after >= kLatest) return std::nullopt;

  const sys_seconds limit = after + years{5};
  sys_seconds candidate = after + seconds{1};
  while (candidate <= limit) {
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
    const sys_seconds fire = day + hours{hour} + minutes{minute} + seconds{*next_second};
    if (fire > limit) break;
    return fire;
  }
  return std::nullopt;
}

}  // namespace backupy::cron
