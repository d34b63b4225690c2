#include "backupy/session/outbox_pump.hpp"

#include <gtest/gtest.h>

#include "test_state_dir.hpp"

namespace backupy::session {
namespace {

class OutboxPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.open();
    outbox_ = std::make_unique<state::Outbox>(*db_);
    for (int i = 0; i < 10; ++i)
      outbox_->append(state::OutboxClass::terminal, "e" + std::to_string(i));
  }
  testing::TestStateDir dir_;
  std::unique_ptr<state::StateDb> db_;
  std::unique_ptr<state::Outbox> outbox_;
};

TEST_F(OutboxPumpTest, SendsNothingWhileDisconnected) {
  OutboxPump pump(*outbox_, 4);
  EXPECT_TRUE(pump.next_batch().empty());
}

TEST_F(OutboxPumpTest, WindowBoundsEntriesInFlightAndOrderIsKept) {
  OutboxPump pump(*outbox_, 4);
  pump.on_connected(/*ack_mode=*/false);
  auto first = pump.next_batch();
  ASSERT_EQ(first.size(), 4u);
  EXPECT_EQ(first[0].payload, "e0");
  EXPECT_EQ(first[3].payload, "e3");
  EXPECT_TRUE(pump.next_batch().empty());  // window full
  pump.on_written(first[1].seq, true);     // e0, e1 written
  EXPECT_EQ(outbox_->depth(), 8u);
  auto second = pump.next_batch();
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].payload, "e4");
}

TEST_F(OutboxPumpTest, AckModeKeepsEntriesUntilAcknowledged) {
  OutboxPump pump(*outbox_, 100);
  pump.on_connected(/*ack_mode=*/true);
  auto batch = pump.next_batch();
  ASSERT_EQ(batch.size(), 10u);
  for (const auto& entry : batch) pump.on_written(entry.seq, true);
  EXPECT_EQ(outbox_->depth(), 10u) << "written is not delivered in ack mode";
  pump.on_delivery_ack(batch[5].seq);
  EXPECT_EQ(outbox_->depth(), 4u);
  EXPECT_EQ(pump.in_flight(), 4u);
}

TEST_F(OutboxPumpTest, ReconnectResendsEverythingStillStored) {
  OutboxPump pump(*outbox_, 100);
  pump.on_connected(true);
  auto batch = pump.next_batch();
  pump.on_delivery_ack(batch[2].seq);
  pump.on_disconnected();
  pump.on_connected(true);
  auto again = pump.next_batch();
  ASSERT_EQ(again.size(), 7u);
  EXPECT_EQ(again[0].payload, "e3");
}

TEST_F(OutboxPumpTest, FailedWriteKeepsTheEntry) {
  OutboxPump pump(*outbox_, 100);
  pump.on_connected(false);
  auto batch = pump.next_batch();
  pump.on_written(batch[0].seq, false);
  EXPECT_EQ(outbox_->depth(), 10u);
}

TEST_F(OutboxPumpTest, NewEntriesAppendedWhileConnectedAreSentNext) {
  OutboxPump pump(*outbox_, 100);
  pump.on_connected(false);
  auto batch = pump.next_batch();
  pump.on_written(batch.back().seq, true);
  outbox_->append(state::OutboxClass::terminal, "late");
  auto next = pump.next_batch();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].payload, "late");
}

}  // namespace
}  // namespace backupy::session
