#include "backupy/scheduling/maintenance_window.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace backupy::scheduling {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

// 2026-11-22 at hh:mm:ss UTC.
sys_seconds at(int hh, int mm, int ss = 0, int day = 22) {
  return sys_days(year(2026) / November / day) + hours(hh) + minutes(mm) + seconds(ss);
}

MaintenanceWindow window(std::string_view start, std::string_view end) {
  auto parsed = MaintenanceWindow::parse(start, end);
  if (auto* error = std::get_if<std::string>(&parsed)) ADD_FAILURE() << *error;
  return std::get<MaintenanceWindow>(parsed);
}

std::string error_of(std::string_view start, std::string_view end) {
  auto parsed = MaintenanceWindow::parse(start, end);
  auto* error = std::get_if<std::string>(&parsed);
  return error != nullptr ? *error : "(parsed)";
}

TEST(MaintenanceWindow, EmptyOrEqualIsNoWindow) {
  EXPECT_TRUE(MaintenanceWindow().empty());
  EXPECT_FALSE(MaintenanceWindow().hold_until(at(3, 0)));
  EXPECT_TRUE(window("", "").empty());
  const auto same = window("03:00", "03:00");
  EXPECT_TRUE(same.empty());
  EXPECT_FALSE(same.hold_until(at(3, 0)));
  EXPECT_EQ(MaintenanceWindow().describe(), "no maintenance window");
}

TEST(MaintenanceWindow, SameDayWindowIsHalfOpen) {
  const auto w = window("01:00", "03:30");
  EXPECT_EQ(w.describe(), "01:00-03:30 UTC");
  EXPECT_FALSE(w.hold_until(at(0, 59, 59)));
  EXPECT_EQ(w.hold_until(at(1, 0)), at(3, 30));
  EXPECT_EQ(w.hold_until(at(2, 15, 7)), at(3, 30));
  EXPECT_EQ(w.hold_until(at(3, 29, 59)), at(3, 30));
  EXPECT_FALSE(w.hold_until(at(3, 30)));  // the end is outside
  EXPECT_FALSE(w.hold_until(at(12, 0)));
}

TEST(MaintenanceWindow, OvernightWindowWraps) {
  const auto w = window("22:00", "02:00");
  EXPECT_EQ(w.describe(), "22:00-02:00 UTC");
  EXPECT_FALSE(w.hold_until(at(21, 59, 59)));
  EXPECT_EQ(w.hold_until(at(22, 0)), at(2, 0, 0, 23));  // evening: ends tomorrow
  EXPECT_EQ(w.hold_until(at(23, 59, 59)), at(2, 0, 0, 23));
  EXPECT_EQ(w.hold_until(at(0, 0)), at(2, 0));  // after midnight: ends today
  EXPECT_EQ(w.hold_until(at(1, 59, 59)), at(2, 0));
  EXPECT_FALSE(w.hold_until(at(2, 0)));
  EXPECT_FALSE(w.hold_until(at(12, 0)));
}

TEST(MaintenanceWindow, EndAtMidnight) {
  const auto w = window("23:00", "00:00");
  EXPECT_EQ(w.hold_until(at(23, 30)), at(0, 0, 0, 23));
  EXPECT_FALSE(w.hold_until(at(0, 0)));
  const auto from_midnight = window("00:00", "01:00");
  EXPECT_EQ(from_midnight.hold_until(at(0, 0)), at(1, 0));
}

TEST(MaintenanceWindow, ParseErrorsNameTheField) {
  EXPECT_EQ(error_of("25:00", "02:00"), "start_utc \"25:00\" is not HH:MM");
  EXPECT_EQ(error_of("22:00", "2:00"), "end_utc \"2:00\" is not HH:MM");
  EXPECT_EQ(error_of("22:60", "02:00"), "start_utc \"22:60\" is not HH:MM");
  EXPECT_EQ(error_of("", "02:00"), "start_utc \"\" is not HH:MM");
  EXPECT_EQ(error_of("22:00", ""), "end_utc \"\" is not HH:MM");
  EXPECT_EQ(error_of("ab:cd", "02:00"), "start_utc \"ab:cd\" is not HH:MM");
}

TEST(MaintenanceWindow, FromConfigIgnoresMalformed) {
  backup::v1::MaintenanceWindow config;
  config.set_start_utc("22:00");
  config.set_end_utc("02:00");
  EXPECT_EQ(MaintenanceWindow::from_config(config).describe(), "22:00-02:00 UTC");
  config.set_end_utc("nope");
  EXPECT_TRUE(MaintenanceWindow::from_config(config).empty());
  EXPECT_TRUE(MaintenanceWindow::from_config(backup::v1::MaintenanceWindow()).empty());
}

}  // namespace
}  // namespace backupy::scheduling
