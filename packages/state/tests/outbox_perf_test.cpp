// Not a benchmark: checks that 10,000 entries page through correctly and
// reports how long it took, so a regression (e.g. an O(n) step per append)
// shows up in the test log. No timing is asserted: CI machines vary.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "backupy/state/outbox.hpp"
#include "temp_dir.hpp"

namespace backupy::state {
namespace {

using Clock = std::chrono::steady_clock;

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

class OutboxPerfTest : public testing::TempDirTest {};

TEST_F(OutboxPerfTest, TenThousandEntriesPageInOrder) {
  constexpr std::size_t kCount = 10000;
  constexpr std::size_t kBatch = 256;
  const std::string payload(200, 'p');  // roughly a small serialized Envelope
  auto db = StateDb::open(db_path());
  // Progress entries, at a bound of exactly kCount: every append runs the
  // bound check against a nearly full class, the realistic worst case.
  Outbox outbox(*db, OutboxLimits{.progress = kCount});

  auto start = Clock::now();
  for (std::size_t i = 0; i < kCount; ++i) outbox.append(OutboxClass::progress, payload);
  const long long append_ms = elapsed_ms(start);
  ASSERT_EQ(outbox.depth(), kCount);
  EXPECT_EQ(outbox.dropped_total(), 0u);

  // Paging without removing (what a resend after reconnect does).
  std::uint64_t after = 0;
  std::size_t seen = 0;
  for (auto page = outbox.read_after(after, kBatch); !page.empty();
       page = outbox.read_after(after, kBatch)) {
    for (const auto& entry : page) {
      ASSERT_GT(entry.seq, after);
      after = entry.seq;
      ++seen;
    }
  }
  EXPECT_EQ(seen, kCount);
  EXPECT_EQ(after, outbox.last_seq());

  // Draining: read a batch, acknowledge it cumulatively.
  start = Clock::now();
  std::size_t drained = 0;
  for (auto page = outbox.read_after(0, kBatch); !page.empty();
       page = outbox.read_after(0, kBatch)) {
    drained += page.size();
    outbox.remove_through(page.back().seq);
  }
  const long long drain_ms = elapsed_ms(start);
  EXPECT_EQ(drained, kCount);
  EXPECT_EQ(outbox.depth(), 0u);

  RecordProperty("append_10000_ms", std::to_string(append_ms));
  RecordProperty("read_remove_10000_ms", std::to_string(drain_ms));
  std::cout << "[   PERF   ] 10000 appends: " << append_ms << " ms; read in batches of " << kBatch
            << " + remove_through: " << drain_ms << " ms\n";
}

}  // namespace
}  // namespace backupy::state
