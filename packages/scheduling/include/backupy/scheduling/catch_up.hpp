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
// late: now - instant < next_after(instant) - instant. nullopt if nothing was missed or the
// miss is too old. Bounded work even for a seconds-level cron after a long downtime.
std::optional<std::chrono::sys_seconds> missed_fire(const cron::CronExpression& expr,
                                                    std::chrono::sys_seconds last_fire,
                                                    std::chrono::sys_seconds now);

}  // namespace backupy::scheduling
