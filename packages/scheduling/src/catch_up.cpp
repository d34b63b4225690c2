#include "backupy/scheduling/catch_up.hpp"

#include "latest_instant.hpp"

namespace backupy::scheduling {

std::optional<std::chrono::sys_seconds> missed_fire(const cron::CronExpression& expr,
                                                    std::chrono::sys_seconds last_fire,
                                                    std::chrono::sys_seconds now) {
  // Only the latest instant can be less than one period late: for any earlier instant I,
  // next_after(I) is at most the latest one, so now - I >= next_after(I) - I. And the
  // latest instant L always is, since next_after(L) > now. So the rule reduces to "the
  // latest instant, if any" (see catch_up.hpp).
  return detail::latest_instant(expr, last_fire, now);
}

}  // namespace backupy::scheduling
