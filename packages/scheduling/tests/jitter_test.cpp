#include "backupy/scheduling/jitter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

namespace backupy::scheduling {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(JitterTest, MatchesTheDocumentedFormula) {
  // Computed independently (Python hashlib): first 8 bytes of
  // SHA-256("backupy-jitter-v1\0" identity "\0" job), big-endian, mod window in ms.
  EXPECT_EQ(jitter_offset("3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f",
                          "nightly", seconds{600}),
            milliseconds{572639});
  EXPECT_EQ(jitter_offset("agent-a", "orders", seconds{3600}), milliseconds{1771390});
  EXPECT_EQ(jitter_offset("agent-a", "orders", seconds{1}), milliseconds{390});
}

TEST(JitterTest, IsDeterministic) {
  const auto first = jitter_offset("agent-identity", "nightly", seconds{900});
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(jitter_offset("agent-identity", "nightly", seconds{900}), first);
  }
}

TEST(JitterTest, ZeroOrNegativeWindowGivesNoJitter) {
  EXPECT_EQ(jitter_offset("agent", "job", seconds{0}), milliseconds{0});
  EXPECT_EQ(jitter_offset("agent", "job", seconds{-5}), milliseconds{0});
}

TEST(JitterTest, StaysInsideTheWindow) {
  for (const int window : {1, 2, 59, 600, 86400}) {
    for (int agent = 0; agent < 200; ++agent) {
      const auto offset = jitter_offset("agent-" + std::to_string(agent), "job", seconds{window});
      EXPECT_GE(offset, milliseconds{0});
      EXPECT_LT(offset, seconds{window});
    }
  }
}

TEST(JitterTest, DependsOnAgentAndJobAndTheirBoundary) {
  const seconds window{86400};
  EXPECT_NE(jitter_offset("agent-1", "job", window), jitter_offset("agent-2", "job", window));
  EXPECT_NE(jitter_offset("agent", "job-1", window), jitter_offset("agent", "job-2", window));
  // The separator keeps ("ab", "c") apart from ("a", "bc").
  EXPECT_NE(jitter_offset("ab", "c", window), jitter_offset("a", "bc", window));
}

TEST(JitterTest, AFleetSpreadsOverTheWholeWindow) {
  // 1,000 agents with one cron and a 600 s window: every 60 s bucket gets some, none most.
  std::array<int, 10> buckets{};
  std::set<long long> distinct;
  for (int agent = 0; agent < 1000; ++agent) {
    const auto offset = jitter_offset("agent-" + std::to_string(agent), "nightly", seconds{600});
    ++buckets.at(static_cast<std::size_t>(offset / seconds{60}));
    distinct.insert(offset.count());
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    EXPECT_GT(buckets[i], 50) << "bucket " << i;   // 100 expected
    EXPECT_LT(buckets[i], 160) << "bucket " << i;  // far from a stampede
  }
  EXPECT_GT(distinct.size(), 990u);
}

}  // namespace
}  // namespace backupy::scheduling
