#include "backupy/state/outbox.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "backupy/core/time.hpp"
#include "temp_dir.hpp"

namespace backupy::state {
namespace {

class OutboxTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    db_ = StateDb::open(db_path());
  }
  void TearDown() override {
    db_.reset();
    TempDirTest::TearDown();
  }
  // Simulates a restart: the connection goes away and comes back.
  void reopen() {
    db_.reset();
    db_ = StateDb::open(db_path());
  }
  static std::vector<std::uint64_t> seqs(const std::vector<OutboxEntry>& entries) {
    std::vector<std::uint64_t> out;
    for (const auto& entry : entries) out.push_back(entry.seq);
    return out;
  }
  static std::vector<std::string> payloads(const std::vector<OutboxEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& entry : entries) out.push_back(entry.payload);
    return out;
  }
  std::unique_ptr<StateDb> db_;
};

TEST_F(OutboxTest, EmptyOutbox) {
  Outbox outbox(*db_);
  EXPECT_EQ(outbox.depth(), 0u);
  EXPECT_EQ(outbox.last_seq(), 0u);
  EXPECT_EQ(outbox.dropped_total(), 0u);
  EXPECT_TRUE(outbox.read_after(0, 10).empty());
}

TEST_F(OutboxTest, ReadsBackInFifoOrderWithClassAndTime) {
  Outbox outbox(*db_);
  const std::uint64_t before = core::now_ms();
  const std::vector<std::pair<OutboxClass, std::string>> input = {
      {OutboxClass::progress, "p1"},  {OutboxClass::terminal, "t1"},
      {OutboxClass::log, "l1"},       {OutboxClass::health, "h1"},
      {OutboxClass::discovery, "d1"}, {OutboxClass::terminal, std::string("bin\0ary", 7)}};
  std::vector<std::uint64_t> appended;
  for (const auto& [cls, payload] : input) appended.push_back(outbox.append(cls, payload));
  const std::uint64_t after = core::now_ms();

  const auto entries = outbox.read_after(0, 100);
  ASSERT_EQ(entries.size(), input.size());
  EXPECT_EQ(seqs(entries), appended);
  for (std::size_t i = 0; i < input.size(); ++i) {
    EXPECT_EQ(entries[i].cls, input[i].first);
    EXPECT_EQ(entries[i].payload, input[i].second);
    EXPECT_GE(entries[i].created_ms, before);
    EXPECT_LE(entries[i].created_ms, after);
    if (i > 0) {
      EXPECT_GT(entries[i].seq, entries[i - 1].seq);
    }
  }
  EXPECT_EQ(outbox.depth(), input.size());
  EXPECT_EQ(outbox.last_seq(), appended.back());
  EXPECT_EQ(seqs(outbox.read_after(appended[1], 2)),
            (std::vector<std::uint64_t>{appended[2], appended[3]}));
  EXPECT_TRUE(outbox.read_after(appended.back(), 10).empty());
  EXPECT_TRUE(outbox.read_after(0, 0).empty());
}

TEST_F(OutboxTest, EntriesSurviveRestartInOrder) {
  std::vector<std::uint64_t> appended;
  {
    Outbox outbox(*db_);
    for (int i = 0; i < 10; ++i) {
      appended.push_back(outbox.append(OutboxClass::terminal, "entry-" + std::to_string(i)));
    }
  }
  reopen();
  Outbox outbox(*db_);
  const auto entries = outbox.read_after(0, 100);
  EXPECT_EQ(seqs(entries), appended);
  EXPECT_EQ(entries.front().payload, "entry-0");
  EXPECT_EQ(entries.back().payload, "entry-9");
  EXPECT_EQ(outbox.depth(), 10u);
}

TEST_F(OutboxTest, SeqIsNeverReusedAfterRemoveAndRestart) {
  std::uint64_t last = 0;
  {
    Outbox outbox(*db_);
    for (int i = 0; i < 3; ++i) last = outbox.append(OutboxClass::terminal, "x");
    outbox.remove_through(last);
    EXPECT_EQ(outbox.depth(), 0u);
    EXPECT_EQ(outbox.last_seq(), last);
    EXPECT_GT(outbox.append(OutboxClass::terminal, "y"), last);
    last = outbox.last_seq();
    outbox.remove(last);
  }
  reopen();
  Outbox outbox(*db_);
  EXPECT_EQ(outbox.depth(), 0u);
  EXPECT_EQ(outbox.last_seq(), last);
  EXPECT_EQ(outbox.append(OutboxClass::terminal, "z"), last + 1);
}

TEST_F(OutboxTest, RemoveThroughAndRemove) {
  Outbox outbox(*db_);
  std::vector<std::uint64_t> s;
  for (int i = 0; i < 10; ++i) s.push_back(outbox.append(OutboxClass::progress, "e"));
  outbox.remove(s[4]);
  outbox.remove(s[4]);  // already gone: no-op
  outbox.remove_through(s[2]);
  EXPECT_EQ(seqs(outbox.read_after(0, 100)),
            (std::vector<std::uint64_t>{s[3], s[5], s[6], s[7], s[8], s[9]}));
  EXPECT_EQ(outbox.depth(), 6u);
  outbox.remove_through(std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(outbox.depth(), 0u);
  EXPECT_EQ(outbox.last_seq(), s.back());
  EXPECT_EQ(outbox.dropped_total(), 0u);
}

TEST_F(OutboxTest, BoundsDropOldestOfTheFullClassOnly) {
  Outbox outbox(*db_, OutboxLimits{.progress = 3, .health = 5, .discovery = 1, .log = 2});
  for (int i = 0; i < 5; ++i) {
    outbox.append(OutboxClass::terminal, "t" + std::to_string(i));
    outbox.append(OutboxClass::progress, "p" + std::to_string(i));
    outbox.append(OutboxClass::log, "l" + std::to_string(i));
    outbox.append(OutboxClass::health, "h" + std::to_string(i));
  }
  EXPECT_EQ(outbox.dropped_total(), 2u + 3u);  // progress 5->3, log 5->2, health fits
  EXPECT_EQ(payloads(outbox.read_after(0, 100)),
            (std::vector<std::string>{"t0", "h0", "t1", "h1", "t2", "p2", "h2", "t3", "p3", "l3",
                                      "h3", "t4", "p4", "l4", "h4"}));
  EXPECT_EQ(outbox.depth(), 15u);

  // Removing makes room again: no drop until the class is over its bound.
  outbox.remove_through(outbox.last_seq());
  outbox.append(OutboxClass::log, "l5");
  outbox.append(OutboxClass::log, "l6");
  EXPECT_EQ(outbox.dropped_total(), 5u);
}

TEST_F(OutboxTest, DiscoveryKeepsOnlyTheNewest) {
  Outbox outbox(*db_);
  outbox.append(OutboxClass::discovery, "old");
  outbox.append(OutboxClass::terminal, "t");
  outbox.append(OutboxClass::discovery, "older-than-newest");
  const std::uint64_t newest = outbox.append(OutboxClass::discovery, "newest");
  const auto entries = outbox.read_after(0, 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].payload, "t");
  EXPECT_EQ(entries[1].payload, "newest");
  EXPECT_EQ(entries[1].seq, newest);
  EXPECT_EQ(outbox.dropped_total(), 2u);
}

TEST_F(OutboxTest, TerminalIsNeverDropped) {
  Outbox outbox(*db_, OutboxLimits{.progress = 1, .health = 1, .discovery = 1, .log = 1});
  constexpr int kCount = 20000;
  for (int i = 0; i < kCount; ++i) outbox.append(OutboxClass::terminal, std::to_string(i));
  EXPECT_EQ(outbox.depth(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(outbox.dropped_total(), 0u);
  const auto first = outbox.read_after(0, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].payload, "0");
}

TEST_F(OutboxTest, ZeroLimitMeansUnbounded) {
  Outbox outbox(*db_, OutboxLimits{.log = 0});
  for (int i = 0; i < 50; ++i) outbox.append(OutboxClass::log, "l");
  EXPECT_EQ(outbox.depth(), 50u);
  EXPECT_EQ(outbox.dropped_total(), 0u);
}

TEST_F(OutboxTest, DroppedTotalCountsOnlyThisProcess) {
  {
    Outbox outbox(*db_, OutboxLimits{.log = 1});
    outbox.append(OutboxClass::log, "a");
    outbox.append(OutboxClass::log, "b");
    EXPECT_EQ(outbox.dropped_total(), 1u);
  }
  reopen();
  Outbox outbox(*db_, OutboxLimits{.log = 1});
  EXPECT_EQ(outbox.dropped_total(), 0u);
  EXPECT_EQ(payloads(outbox.read_after(0, 10)), std::vector<std::string>{"b"});
}

TEST_F(OutboxTest, ConcurrentAppendsGetUniqueIncreasingSeqs) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;
  Outbox outbox(*db_);
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        got[t].push_back(
            outbox.append(OutboxClass::terminal, std::to_string(t) + ":" + std::to_string(i)));
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::set<std::uint64_t> all;
  for (const auto& mine : got) {
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    EXPECT_EQ(std::adjacent_find(mine.begin(), mine.end()), mine.end());  // strictly
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));

  const auto entries = outbox.read_after(0, kThreads * kPerThread + 1);
  ASSERT_EQ(entries.size(), all.size());
  EXPECT_EQ(seqs(entries), std::vector<std::uint64_t>(all.begin(), all.end()));
  // Each thread's payloads appear in its own order.
  std::vector<int> next(kThreads, 0);
  for (const auto& entry : entries) {
    const int t = entry.payload[0] - '0';
    EXPECT_EQ(entry.payload, std::to_string(t) + ":" + std::to_string(next[t]++));
  }
}

TEST_F(OutboxTest, ReadOnlyConnectionCanInspect) {
  Outbox writer(*db_);
  writer.append(OutboxClass::terminal, "a");
  writer.append(OutboxClass::log, "b");
  auto reader_db = StateDb::open(db_path(), StateDb::Mode::read_only);
  Outbox reader(*reader_db);
  EXPECT_EQ(reader.depth(), 2u);
  EXPECT_EQ(reader.last_seq(), writer.last_seq());
  EXPECT_EQ(payloads(reader.read_after(0, 10)), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(reader.append(OutboxClass::terminal, "c"), StateError);

  // Cached statements must not pin the reader to an old snapshot.
  writer.append(OutboxClass::terminal, "d");
  EXPECT_EQ(reader.depth(), 3u);
  EXPECT_EQ(payloads(reader.read_after(0, 10)), (std::vector<std::string>{"a", "b", "d"}));
}

TEST_F(OutboxTest, CachedStatementsAreIdleBetweenCallsAndFinalizedWithTheOutbox) {
  const auto statements = [&](bool busy_only) {
    int count = 0;
    db_->with_connection([&](sqlite3* conn) {
      for (sqlite3_stmt* s = sqlite3_next_stmt(conn, nullptr); s; s = sqlite3_next_stmt(conn, s)) {
        if (!busy_only || sqlite3_stmt_busy(s)) ++count;
      }
    });
    return count;
  };
  {
    Outbox outbox(*db_, OutboxLimits{.log = 1});
    for (int i = 0; i < 3; ++i) outbox.append(OutboxClass::log, "l");
    outbox.read_after(0, 1);  // stops before the last row: must still reset
    outbox.depth();
    outbox.last_seq();
    outbox.remove(1);
    outbox.remove_through(1);
    EXPECT_GT(statements(false), 0);
    EXPECT_EQ(statements(true), 0);
  }
  EXPECT_EQ(statements(false), 0);
}

}  // namespace
}  // namespace backupy::state
