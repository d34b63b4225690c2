#pragma once
#include <cstdint>
#include <string>

namespace backupy::core {

// Wall clock, milliseconds since the Unix epoch.
std::uint64_t now_ms();
// Monotonic clock, milliseconds since an arbitrary origin.
std::uint64_t monotonic_ms();
// "2026-11-22T03:37:57.123Z"
std::string iso8601_utc(std::uint64_t epoch_ms);

}  // namespace backupy::core
