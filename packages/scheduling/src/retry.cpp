#include "backupy/scheduling/retry.hpp"

#include <algorithm>

namespace backupy::scheduling {

std::optional<std::chrono::seconds> retry_delay(const backup::v1::RetryPolicy& policy,
                                                unsigned failed_attempt) {
  if (failed_attempt == 0) failed_attempt = 1;  // attempts are 1-based; 0 means the first
  if (failed_attempt >= policy.max_attempts()) return std::nullopt;  // 0/1: no retries
  const auto& backoff = policy.backoff_seconds();
  if (backoff.empty()) return kDefaultRetryBackoff;
  const int index = static_cast<int>(std::min<unsigned>(failed_attempt - 1, backoff.size() - 1));
  return std::chrono::seconds(backoff.Get(index));
}

bool retry_allowed_by_credentials(std::uint64_t expires_at_ms, std::uint64_t retry_at_ms) {
  return expires_at_ms == 0 || retry_at_ms < expires_at_ms;
}

}  // namespace backupy::scheduling
