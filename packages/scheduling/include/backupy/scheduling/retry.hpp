#pragma once
// RetryPolicy{max_attempts, backoff_seconds}: when a failed attempt is tried again.
//
// max_attempts counts every attempt (0 and 1 both mean "no retries"). Attempt n (1-based)
// that failed is retried after backoff_seconds[min(n-1, last)] seconds; with no
// backoff_seconds the delay is kDefaultRetryBackoff. Cancelled runs are never retried (the
// caller's rule), and a run whose credentials come from a v1 server only while its presigned
// URL is still valid at the retry time (retry_allowed_by_credentials).
#include <chrono>
#include <cstdint>
#include <optional>

#include "backup/v1/agent.pb.h"

namespace backupy::scheduling {

inline constexpr std::chrono::seconds kDefaultRetryBackoff{60};

// The delay before attempt failed_attempt + 1, or nullopt when failed_attempt was the last.
std::optional<std::chrono::seconds> retry_delay(const backup::v1::RetryPolicy& policy,
                                                unsigned failed_attempt);

// A retry at retry_at_ms may use credentials expiring at expires_at_ms (0 = no expiry).
bool retry_allowed_by_credentials(std::uint64_t expires_at_ms, std::uint64_t retry_at_ms);

}  // namespace backupy::scheduling
