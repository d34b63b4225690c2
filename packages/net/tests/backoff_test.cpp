#include "backupy/net/backoff.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace backupy::net {
namespace {

using std::chrono::milliseconds;

std::vector<long> delays(Backoff& backoff, int count) {
  std::vector<long> out;
  for (int i = 0; i < count; ++i) out.push_back(static_cast<long>(backoff.next_delay().count()));
  return out;
}

TEST(BackoffTest, DoublesFromOneSecondToTheSixtySecondCap) {
  Backoff backoff({}, [] { return 0.5; });  // u = 0.5: no jitter
  EXPECT_EQ(delays(backoff, 9),
            (std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000}));
  EXPECT_EQ(backoff.attempts(), 9u);
}

TEST(BackoffTest, JitterLowerBoundIsMinusTwentyPercent) {
  Backoff backoff({}, [] { return 0.0; });
  EXPECT_EQ(delays(backoff, 8),
            (std::vector<long>{800, 1600, 3200, 6400, 12800, 25600, 48000, 48000}));
}

TEST(BackoffTest, JitterUpperBoundApproachesPlusTwentyPercent) {
  const double almost_one = std::nextafter(1.0, 0.0);
  Backoff backoff({}, [=] { return almost_one; });
  EXPECT_EQ(delays(backoff, 8),
            (std::vector<long>{1200, 2400, 4800, 9600, 19200, 38400, 72000, 72000}));
}

TEST(BackoffTest, DefaultRandomSourceStaysWithinTheJitterBand) {
  Backoff backoff;
  for (int i = 0; i < 200; ++i) {
    const long base = std::min(1000L << std::min(i, 6), 60000L);
    const long delay = static_cast<long>(backoff.next_delay().count());
    ASSERT_GE(delay, base * 8 / 10) << "attempt " << i;
    ASSERT_LE(delay, base * 12 / 10) << "attempt " << i;
  }
}

TEST(BackoffTest, ResetStartsOverAtTheInitialDelay) {
  Backoff backoff({}, [] { return 0.5; });
  delays(backoff, 5);
  backoff.reset();
  EXPECT_EQ(backoff.attempts(), 0u);
  EXPECT_EQ(delays(backoff, 2), (std::vector<long>{1000, 2000}));
}

TEST(BackoffTest, JumpToCapWaitsTheCapAtOnce) {
  Backoff backoff({}, [] { return 0.5; });
  backoff.next_delay();
  backoff.jump_to_cap();
  EXPECT_EQ(delays(backoff, 2), (std::vector<long>{60000, 60000}));
  backoff.reset();
  EXPECT_EQ(backoff.next_delay(), milliseconds{1000});
}

TEST(BackoffTest, NonsensePolicyIsClampedNotObeyed) {
  BackoffPolicy policy;
  policy.initial = milliseconds{-5};
  policy.cap = milliseconds{0};
  policy.multiplier = 0.5;
  policy.jitter = 3.0;
  Backoff backoff(policy, [] { return 0.0; });
  EXPECT_EQ(backoff.next_delay(), milliseconds{0});  // jitter clamped to 100 %: never negative
  EXPECT_EQ(backoff.policy().initial, milliseconds{1});
  EXPECT_EQ(backoff.policy().cap, milliseconds{1});
}

}  // namespace
}  // namespace backupy::net
