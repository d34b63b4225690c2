#pragma once
// AgentConfig.maintenance: scheduled backups that fall due inside the window wait until it
// ends; manual runs are never held (docs/architecture.md, "Agent-side scheduling").
//
// Times are UTC "HH:MM". The window is [start, end): a start later than the end wraps over
// midnight ("22:00"-"02:00"); both empty, or start == end, is no window at all.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "backup/v1/agent.pb.h"

namespace backupy::scheduling {

class MaintenanceWindow {
 public:
  MaintenanceWindow() = default;  // no window

  // The window, or an error naming the bad field ("start_utc \"25:00\" is not HH:MM").
  static std::variant<MaintenanceWindow, std::string> parse(std::string_view start_utc,
                                                            std::string_view end_utc);
  // The config's window; config validation rejected malformed ones already, so one that
  // does not parse here counts as no window.
  static MaintenanceWindow from_config(const backup::v1::MaintenanceWindow& window);

  bool empty() const { return start_minute_ == end_minute_; }
  // If now lies inside the window, the instant the window ends (strictly after now);
  // otherwise nullopt.
  std::optional<std::chrono::sys_seconds> hold_until(std::chrono::sys_seconds now) const;
  // "22:00-02:00 UTC" (for reasons and logs).
  std::string describe() const;

 private:
  int start_minute_ = 0;  // minutes after midnight UTC
  int end_minute_ = 0;
};

}  // namespace backupy::scheduling
