#include "latest_instant.hpp"

namespace backupy::scheduling::detail {

std::optional<std::chrono::sys_seconds> latest_instant(const cron::CronExpression& expr,
                                                       std::chrono::sys_seconds after,
                                                       std::chrono::sys_seconds upto) {
  using std::chrono::seconds;
  if (upto <= after) return std::nullopt;
  // Some instant lies in (t, upto]. False at upto itself; once true, true for every earlier t.
  const auto instant_by_upto = [&](std::chrono::sys_seconds t) {
    const auto next = expr.next_after(t);
    return next && *next <= upto;
  };

  // Invariant below: instant_by_upto(lo) && !instant_by_upto(hi), lo < hi.
  std::chrono::sys_seconds hi = upto;
  std::chrono::sys_seconds lo;
  for (seconds step{1};; step *= 2) {
    const bool reached_after = step >= upto - after;
    const std::chrono::sys_seconds probe = reached_after ? after : upto - step;
    if (instant_by_upto(probe)) {
      lo = probe;
      break;
    }
    if (reached_after) return std::nullopt;
    hi = probe;
  }
  while (hi - lo > seconds{1}) {
    const std::chrono::sys_seconds mid = lo + (hi - lo) / 2;
    (instant_by_upto(mid) ? lo : hi) = mid;
  }
  // Now hi == lo + 1: the first instant after lo is <= upto, and none lies in (hi, upto].
  return expr.next_after(lo);
}

}  // namespace backupy::scheduling::detail
