// CRON_TZ zones over Howard Hinnant's date/tz, which Debian builds to read the
// OS database (/usr/share/zoneinfo) rather than download one: no network needed.
#include "zone.hpp"

#include <date/tz.h>

#include <exception>

#include "backupy/core/quote.hpp"

namespace backupy::cron::detail {

std::variant<const date::time_zone*, std::string> find_zone(std::string_view name) {
  if (name == "UTC") return static_cast<const date::time_zone*>(nullptr);
  const std::string unknown = "CRON_TZ " + core::quoted(name) + " is not a known time zone";
  // "localtime" is the host's own zone: the agent and the control plane could
  // read the same expression differently, so it is not offered.
  if (name == "localtime") return unknown;
  try {
    // date/tz scans the database once, on first use; that can fail when
    // tzdata is missing, which is worth saying rather than "unknown zone".
    const date::tzdb& database = date::get_tzdb();
    (void)database;
  } catch (const std::exception& e) {
    return "CRON_TZ " + core::quoted(name) +
           ": the time zone database (/usr/share/zoneinfo, package tzdata) could not be read: " +
           core::escape_for_message(e.what());
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Loads the zone's file now (date/tz does so lazily on first use), so that
    // next_after() never meets an I/O error.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    return unknown;
  }
}

OffsetPeriod offset_period(const date::time_zone* zone, std::chrono::sys_seconds at) {
  using namespace std::chrono;
  if (zone == nullptr) return {sys_seconds::min(), sys_seconds::max(), seconds{0}};
  const date::sys_info info = zone->get_info(at);
  return {info.begin, info.end, info.offset};
}

}  // namespace backupy::cron::detail
