#include "backupy/controlplane/delivery_tracker.hpp"

#include <gtest/gtest.h>

namespace backupy::controlplane {
namespace {

using Outcome = DeliveryLedger::Outcome;
using Action = AckCoalescer::Action;

TEST(DeliveryLedger, ZeroIsNotAnOutboxEntry) {
  DeliveryLedger ledger;
  EXPECT_EQ(ledger.record("a", 0).outcome, Outcome::not_outbox);
  EXPECT_EQ(ledger.highest("a"), 0u);
}

TEST(DeliveryLedger, DetectsReplays) {
  DeliveryLedger ledger;
  EXPECT_EQ(ledger.record("a", 1).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.record("a", 2).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.record("a", 2).outcome, Outcome::duplicate);
  EXPECT_EQ(ledger.record("a", 1).outcome, Outcome::duplicate);
  EXPECT_EQ(ledger.record("a", 3).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.highest("a"), 3u);
}

TEST(DeliveryLedger, KeepsAgentsApart) {
  DeliveryLedger ledger;
  EXPECT_EQ(ledger.record("a", 5).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.record("b", 1).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.record("b", 5).outcome, Outcome::fresh);
  EXPECT_EQ(ledger.highest("a"), 5u);
  EXPECT_EQ(ledger.highest("b"), 5u);
  EXPECT_EQ(ledger.highest("c"), 0u);
}

TEST(DeliveryLedger, ReportsGapsButAcceptsTheEntry) {
  DeliveryLedger ledger;
  // The first entry this process sees may start anywhere: no gap.
  DeliveryLedger::Result first = ledger.record("a", 40);
  EXPECT_EQ(first.outcome, Outcome::fresh);
  EXPECT_EQ(first.gap_first, 0u);
  DeliveryLedger::Result next = ledger.record("a", 41);
  EXPECT_EQ(next.gap_first, 0u);
  DeliveryLedger::Result jump = ledger.record("a", 45);
  EXPECT_EQ(jump.outcome, Outcome::fresh);
  EXPECT_EQ(jump.gap_first, 42u);
  EXPECT_EQ(jump.gap_last, 44u);
  // The cumulative ack covers the highest received.
  EXPECT_EQ(ledger.highest("a"), 45u);
  EXPECT_EQ(ledger.record("a", 43).outcome, Outcome::duplicate);
}

TEST(AckCoalescer, FirstEntryArmsTheTimer) {
  AckCoalescer coalescer;
  EXPECT_EQ(coalescer.on_entry(), Action::arm_timer);
  EXPECT_TRUE(coalescer.timer_armed());
  EXPECT_EQ(coalescer.on_entry(), Action::none);
  EXPECT_EQ(coalescer.pending(), 2u);
  EXPECT_TRUE(coalescer.on_timer());
  coalescer.on_sent();
  EXPECT_EQ(coalescer.pending(), 0u);
  EXPECT_FALSE(coalescer.timer_armed());
}

TEST(AckCoalescer, TimerWithNothingPendingSendsNothing) {
  AckCoalescer coalescer;
  EXPECT_EQ(coalescer.on_entry(), Action::arm_timer);
  coalescer.on_sent();  // a batch ack went out meanwhile
  EXPECT_FALSE(coalescer.on_timer());
}

TEST(AckCoalescer, SendsEveryHundredEntriesWithoutWaitingForTheTimer) {
  AckCoalescer coalescer;
  EXPECT_EQ(coalescer.on_entry(), Action::arm_timer);
  for (int i = 2; i < 100; ++i) EXPECT_EQ(coalescer.on_entry(), Action::none) << i;
  EXPECT_EQ(coalescer.on_entry(), Action::send_now);
  coalescer.on_sent();
  EXPECT_EQ(coalescer.pending(), 0u);
}

TEST(AckCoalescer, AcksALongReplaySteadily) {
  // 10,000 entries arriving faster than the timer: one ack per 100 entries.
  AckCoalescer coalescer;
  int sends = 0;
  int timers = 0;
  for (int i = 0; i < 10'000; ++i) {
    switch (coalescer.on_entry()) {
      case Action::send_now:
        ++sends;
        coalescer.on_sent();
        break;
      case Action::arm_timer: ++timers; break;
      case Action::none: break;
    }
  }
  EXPECT_EQ(sends, 100);
  EXPECT_EQ(timers, 1);  // armed once; the batches kept it from being needed
  EXPECT_FALSE(coalescer.on_timer());
}

TEST(AckCoalescer, TimerAndBatchesInterleave) {
  AckCoalescer coalescer(3);
  EXPECT_EQ(coalescer.on_entry(), Action::arm_timer);
  EXPECT_TRUE(coalescer.on_timer());
  coalescer.on_sent();
  EXPECT_EQ(coalescer.on_entry(), Action::arm_timer);  // a new window starts
  EXPECT_EQ(coalescer.on_entry(), Action::none);
  EXPECT_EQ(coalescer.on_entry(), Action::send_now);
}

}  // namespace
}  // namespace backupy::controlplane
