#include "backupy/scheduling/retry.hpp"

#include <gtest/gtest.h>

#include <initializer_list>

namespace backupy::scheduling {
namespace {

using namespace std::chrono_literals;

backup::v1::RetryPolicy policy(unsigned max_attempts, std::initializer_list<unsigned> backoff) {
  backup::v1::RetryPolicy result;
  result.set_max_attempts(max_attempts);
  for (unsigned seconds : backoff) result.add_backoff_seconds(seconds);
  return result;
}

TEST(RetryDelay, ZeroOrOneAttemptMeansNoRetry) {
  EXPECT_FALSE(retry_delay(policy(0, {5}), 1));
  EXPECT_FALSE(retry_delay(policy(1, {5}), 1));
  EXPECT_FALSE(retry_delay(backup::v1::RetryPolicy(), 1));
}

TEST(RetryDelay, BackoffIndexedByFailedAttemptAndClampedToTheLast) {
  const auto p = policy(5, {10, 30, 90});
  EXPECT_EQ(retry_delay(p, 1), 10s);
  EXPECT_EQ(retry_delay(p, 2), 30s);
  EXPECT_EQ(retry_delay(p, 3), 90s);
  EXPECT_EQ(retry_delay(p, 4), 90s);  // beyond the list: the last entry
  EXPECT_FALSE(retry_delay(p, 5));    // the fifth attempt was the last
  EXPECT_FALSE(retry_delay(p, 6));
}

TEST(RetryDelay, EmptyBackoffUsesTheDefault) {
  const auto p = policy(3, {});
  EXPECT_EQ(retry_delay(p, 1), kDefaultRetryBackoff);
  EXPECT_EQ(retry_delay(p, 2), kDefaultRetryBackoff);
  EXPECT_FALSE(retry_delay(p, 3));
  EXPECT_EQ(kDefaultRetryBackoff, 60s);
}

TEST(RetryDelay, ZeroSecondsIsAnImmediateRetry) {
  EXPECT_EQ(retry_delay(policy(2, {0}), 1), 0s);
}

TEST(RetryAllowedByCredentials, OnlyBeforeTheExpiry) {
  EXPECT_TRUE(retry_allowed_by_credentials(0, 123456));  // no expiry
  EXPECT_TRUE(retry_allowed_by_credentials(2000, 1999));
  EXPECT_FALSE(retry_allowed_by_credentials(2000, 2000));
  EXPECT_FALSE(retry_allowed_by_credentials(2000, 5000));
}

}  // namespace
}  // namespace backupy::scheduling
