#pragma once
// Missed runs: a job whose cron instant passed while the agent was down runs once at
// start-up if that instant is less than one period late; older misses are skipped (the
// next regular fire comes soon enough, and a day-old "nightly" backup taken at noon is
// rarely what anyone wants).
#include <chrono>
#include <optional>

#include "backupy/cron/cron.hpp"

namespace backupy::scheduling {

// The latest instant of expr in (last_fire, now], if that instant is less than one period
// late: now - instant < next_after(instant) - instant, the period being the gap to the next
// instant (so irregular schedules work: "0 9 * * MON-FRI" missed on Friday has until Monday
// 09:00). nullopt if nothing was missed. Only the latest missed instant ever qualifies, and it
// always does: every earlier one I has next_after(I) <= latest <= now, so it is at least one
// period late, while next_after(latest) > now. A week down thus catches up once, the latest
// instant, never a backlog. Bounded work (O(log(now - last_fire)) next_after calls) even for
// a seconds-level cron after a long downtime.
std::optional<std::chrono::sys_seconds> missed_fire(const cron::CronExpression& expr,
                                                    std::chrono::sys_seconds last_fire,
                                                    std::chrono::sys_seconds now);

}  // namespace backupy::scheduling
