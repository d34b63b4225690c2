#pragma once
// The CRON_TZ side of cron: finding a zone by name and the UTC offset in force
// at an instant, over date/tz and the OS time zone database.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace date {
class time_zone;
}

namespace backupy::cron::detail {

// Instants [begin, end) during which wall time = UTC + offset.
struct OffsetPeriod {
  std::chrono::sys_seconds begin;
  std::chrono::sys_seconds end;
  std::chrono::seconds offset;
};

// The zone named `name` (case-sensitive IANA name or link), with its data
// loaded so that offset_period() cannot fail later; or an error line such as
//   CRON_TZ "Mars/Olympus" is not a known time zone
// nullptr stands for UTC, which needs no database.
std::variant<const date::time_zone*, std::string> find_zone(std::string_view name);

// The period of `zone` (nullptr = UTC, one endless period) that contains `at`.
OffsetPeriod offset_period(const date::time_zone* zone, std::chrono::sys_seconds at);

}  // namespace backupy::cron::detail
