#pragma once
// The latest instant of a cron expression in a range, found without walking every instant:
// CronExpression only steps forward, and a seconds-level cron after a week down has 600,000
// instants in the way.
#include <chrono>
#include <optional>

#include "backupy/cron/cron.hpp"

namespace backupy::scheduling::detail {

// The latest instant of expr in (after, upto], or nullopt if there is none. O(log(upto -
// after)) calls of next_after: a backwards doubling search for a point before the latest
// instant, then a bisection (next_after(t) <= upto is monotone in t).
std::optional<std::chrono::sys_seconds> latest_instant(const cron::CronExpression& expr,
                                                       std::chrono::sys_seconds after,
                                                       std::chrono::sys_seconds upto);

}  // namespace backupy::scheduling::detail
