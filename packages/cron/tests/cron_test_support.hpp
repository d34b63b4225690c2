#pragma once
// Helpers shared by the cron tests: build UTC instants and print them readably.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "backupy/cron/cron.hpp"

namespace backupy::cron::testing {

inline std::chrono::sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0,
                                    int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

// "2028-02-29 00:00:00", or "none".
inline std::string show(std::optional<std::chrono::sys_seconds> time) {
  using namespace std::chrono;
  if (!time) return "none";
  const sys_days day = floor<days>(*time);
  const year_month_day date{day};
  const hh_mm_ss clock{*time - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<int>(clock.seconds().count()));
  return buf;
}

// Parses text, failing the test (and returning nullopt) if it is rejected.
inline std::optional<CronExpression> parse_ok(std::string_view text) {
  auto result = CronExpression::parse(text);
  if (auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "parse(\"" << text << "\") failed: " << *error;
    return std::nullopt;
  }
  return std::get<CronExpression>(std::move(result));
}

// The error for text, or "<accepted>" if it parsed.
inline std::string parse_error(std::string_view text) {
  auto result = CronExpression::parse(text);
  if (auto* error = std::get_if<std::string>(&result)) return *error;
  return "<accepted>";
}

// The next `count` fire times after `from`, printed.
inline std::vector<std::string> fires(std::string_view text, std::chrono::sys_seconds from,
                                      int count) {
  std::vector<std::string> out;
  const auto expression = parse_ok(text);
  if (!expression) return out;
  std::optional<std::chrono::sys_seconds> at = from;
  for (int i = 0; i < count && at; ++i) {
    at = expression->next_after(*at);
    out.push_back(show(at));
  }
  return out;
}

inline std::string next(std::string_view text, std::chrono::sys_seconds from) {
  const auto expression = parse_ok(text);
  return expression ? show(expression->next_after(from)) : "<rejected>";
}

}  // namespace backupy::cron::testing
