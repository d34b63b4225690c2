#pragma once
// Readable instants and parsed crons for the scheduling tests.
#include <gtest/gtest.h>

#include <chrono>
#include <string_view>
#include <variant>

#include "backupy/cron/cron.hpp"

namespace backupy::scheduling::test_time {

using namespace std::chrono_literals;
using std::chrono::sys_seconds;

// 2026-11-<day> <h>:<m>:<s> UTC. November 2026: Monday the 16th, Friday the 20th, Monday the
// 23rd.
inline sys_seconds nov(int day, int hour = 0, int minute = 0, int second = 0) {
  return std::chrono::sys_days{std::chrono::year{2026} / std::chrono::November /
                               static_cast<unsigned>(day)} +
         std::chrono::hours{hour} + std::chrono::minutes{minute} + std::chrono::seconds{second};
}

inline cron::CronExpression cron_of(std::string_view text) {
  auto parsed = cron::CronExpression::parse(text);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << "cron \"" << text << "\": " << *error;
  }
  return std::get<cron::CronExpression>(std::move(parsed));
}

}  // namespace backupy::scheduling::test_time
