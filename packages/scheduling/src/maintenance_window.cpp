#include "backupy/scheduling/maintenance_window.hpp"

#include "backupy/core/quote.hpp"

namespace backupy::scheduling {
namespace {

// "HH:MM" with 00-23 and 00-59, exactly five characters; minutes after midnight.
std::optional<int> parse_hhmm(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

std::string hhmm(int minute_of_day) {
  const int hours = minute_of_day / 60;
  const int minutes = minute_of_day % 60;
  return {static_cast<char>('0' + hours / 10), static_cast<char>('0' + hours % 10), ':',
          static_cast<char>('0' + minutes / 10), static_cast<char>('0' + minutes % 10)};
}

}  // namespace

std::variant<MaintenanceWindow, std::string> MaintenanceWindow::parse(std::string_view start_utc,
                                                                      std::string_view end_utc) {
  if (start_utc.empty() && end_utc.empty()) return MaintenanceWindow{};
  const auto start = parse_hhmm(start_utc);
  if (!start) return "start_utc " + core::quoted(start_utc) + " is not HH:MM";
  const auto end = parse_hhmm(end_utc);
  if (!end) return "end_utc " + core::quoted(end_utc) + " is not HH:MM";
  MaintenanceWindow window;
  window.start_minute_ = *start;
  window.end_minute_ = *end;
  return window;
}

MaintenanceWindow MaintenanceWindow::from_config(const backup::v1::MaintenanceWindow& window) {
  auto parsed = parse(window.start_utc(), window.end_utc());
  if (auto* ok = std::get_if<MaintenanceWindow>(&parsed)) return *ok;
  return MaintenanceWindow{};
}

std::optional<std::chrono::sys_seconds> MaintenanceWindow::hold_until(
    std::chrono::sys_seconds now) const {
  if (empty()) return std::nullopt;
  using std::chrono::days;
  using std::chrono::floor;
  using std::chrono::minutes;
  const auto midnight = floor<days>(now);
  const auto since_midnight = now - midnight;
  const int minute = static_cast<int>(floor<minutes>(since_midnight).count());
  const bool inside = start_minute_ < end_minute_ ? minute >= start_minute_ && minute < end_minute_
                                                  : minute >= start_minute_ || minute < end_minute_;
  if (!inside) return std::nullopt;
  // The end is today, or tomorrow when an overnight window is in its evening part.
  auto end = std::chrono::sys_seconds(midnight) + minutes(end_minute_);
  if (end <= now) end += days(1);
  return end;
}

std::string MaintenanceWindow::describe() const {
  if (empty()) return "no maintenance window";
  return hhmm(start_minute_) + "-" + hhmm(end_minute_) + " UTC";
}

}  // namespace backupy::scheduling
