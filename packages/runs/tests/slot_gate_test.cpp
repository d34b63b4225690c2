#include "slot_gate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <vector>

namespace backupy::runs::detail {
namespace {

using namespace std::chrono_literals;
using Slot = SlotGate::Slot;

// Bounds every wait so that a bug fails the test instead of hanging it.
constexpr auto kGenerous = 10s;
// How long a waiter that is known to be blocked is watched for staying blocked.
constexpr auto kStaysBlocked = 50ms;

static_assert(!std::is_copy_constructible_v<Slot>);
static_assert(!std::is_copy_assignable_v<Slot>);
static_assert(!std::is_move_assignable_v<Slot>);
static_assert(std::is_nothrow_move_constructible_v<Slot>);

template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kGenerous;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// acquire() on its own thread. Stops the wait on destruction, so a failing
// test never hangs in the future's destructor.
class Waiter {
 public:
  explicit Waiter(SlotGate& gate)
      : result_(std::async(std::launch::async,
                           [&gate, token = stop_.get_token()] { return gate.acquire(token); })) {}
  ~Waiter() { stop_.request_stop(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // True once acquire() returned (also after take()).
  bool done_within(std::chrono::milliseconds timeout) const {
    return !result_.valid() || result_.wait_for(timeout) == std::future_status::ready;
  }
  bool done() const { return done_within(0ms); }
  void stop() { stop_.request_stop(); }
  std::optional<Slot> take() { return result_.get(); }

 private:
  std::stop_source stop_;
  std::future<std::optional<Slot>> result_;
};

class SlotGateTest : public ::testing::Test {
 protected:
  // limit() is called under the gate's lock once per check, so a rise of
  // `checks` tells that a waiter has looked at the gate: if it found no slot,
  // it is now waiting and only a notification can let it in.
  unsigned checks() const { return checks_.load(); }
  bool checked_since(unsigned before) {
    return eventually([&] { return checks() > before; });
  }

  std::atomic<unsigned> limit_{1};
  std::atomic<unsigned> checks_{0};
  SlotGate gate_{[this] {
    checks_.fetch_add(1);
    return limit_.load();
  }};
};

TEST_F(SlotGateTest, AcquiresUpToTheLimitWithoutBlocking) {
  limit_ = 3;
  EXPECT_EQ(gate_.in_use(), 0u);
  std::optional<Slot> a = gate_.acquire({});
  std::optional<Slot> b = gate_.acquire({});
  std::optional<Slot> c = gate_.acquire({});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(gate_.in_use(), 3u);
  b.reset();
  EXPECT_EQ(gate_.in_use(), 2u);
  a.reset();
  c.reset();
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, BlocksAtTheLimitAndAReleaseWakesTheWaiter) {
  limit_ = 2;
  std::optional<Slot> a = gate_.acquire({});
  std::optional<Slot> b = gate_.acquire({});
  ASSERT_TRUE(a && b);

  const unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));
  EXPECT_FALSE(waiter.done_within(kStaysBlocked));
  EXPECT_EQ(gate_.in_use(), 2u);

  a.reset();
  ASSERT_TRUE(waiter.done_within(kGenerous));
  std::optional<Slot> got = waiter.take();
  EXPECT_TRUE(got.has_value());
  EXPECT_EQ(gate_.in_use(), 2u);
  got.reset();
  b.reset();
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, ThreadsFillExactlyTheLimitAndTheRestWait) {
  limit_ = 2;
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < 5; ++i) waiters.push_back(std::make_unique<Waiter>(gate_));
  const auto done_count = [&] {
    return std::count_if(waiters.begin(), waiters.end(), [](const auto& w) { return w->done(); });
  };

  // Every waiter has checked at least once; two got a slot, three wait.
  ASSERT_TRUE(eventually([&] { return checks() >= 5 && done_count() == 2; }));
  EXPECT_EQ(gate_.in_use(), 2u);
  std::this_thread::sleep_for(kStaysBlocked);
  EXPECT_EQ(done_count(), 2);
  EXPECT_EQ(gate_.in_use(), 2u);

  // Giving one slot back lets exactly one more in.
  auto first_done =
      std::find_if(waiters.begin(), waiters.end(), [](const auto& w) { return w->done(); });
  ASSERT_NE(first_done, waiters.end());
  std::optional<Slot> released = (*first_done)->take();
  ASSERT_TRUE(released.has_value());
  released.reset();
  ASSERT_TRUE(eventually([&] { return done_count() == 3; }));
  EXPECT_EQ(gate_.in_use(), 2u);
  std::this_thread::sleep_for(kStaysBlocked);
  EXPECT_EQ(done_count(), 3);

  // Stopping the rest empties the queue without taking slots.
  for (auto& waiter : waiters) waiter->stop();
  ASSERT_TRUE(eventually([&] { return done_count() == 5; }));
  EXPECT_EQ(gate_.in_use(), 2u);
  waiters.clear();  // the two slots still held by finished waiters go back
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, ConcurrentHoldersNeverExceedTheLimit) {
  limit_ = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 300;
  std::atomic<int> holders{0};
  std::atomic<int> most{0};
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int round = 0; round < kRounds; ++round) {
          std::optional<Slot> slot = gate_.acquire({});
          ASSERT_TRUE(slot.has_value());
          const int now = holders.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::yield();
          holders.fetch_sub(1);
        }
      });
    }
  }
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(holders.load(), 0);
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, StopTokenCancelsABlockedWaiterPromptly) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);

  const unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));
  EXPECT_FALSE(waiter.done_within(kStaysBlocked));

  const auto stopped_at = std::chrono::steady_clock::now();
  waiter.stop();
  ASSERT_TRUE(waiter.done_within(kGenerous));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 2s);
  EXPECT_FALSE(waiter.take().has_value());
  EXPECT_EQ(gate_.in_use(), 1u);  // a cancelled waiter takes nothing

  held.reset();
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, StoppingOneWaiterLeavesTheOthersWaiting) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);

  unsigned before = checks();
  Waiter cancelled(gate_);
  ASSERT_TRUE(checked_since(before));
  before = checks();
  Waiter patient(gate_);
  ASSERT_TRUE(checked_since(before));

  cancelled.stop();
  ASSERT_TRUE(cancelled.done_within(kGenerous));
  EXPECT_FALSE(cancelled.take().has_value());
  EXPECT_FALSE(patient.done_within(kStaysBlocked));

  held.reset();
  ASSERT_TRUE(patient.done_within(kGenerous));
  EXPECT_TRUE(patient.take().has_value());
  EXPECT_EQ(gate_.in_use(), 0u);  // the slot went back when take()'s result died
}

TEST_F(SlotGateTest, StopRequestedBeforeAcquireOnAFullGateReturnsAtOnce) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);
  std::stop_source stop;
  stop.request_stop();
  auto result = std::async(std::launch::async, [&] { return gate_.acquire(stop.get_token()); });
  ASSERT_EQ(result.wait_for(kGenerous), std::future_status::ready);
  EXPECT_FALSE(result.get().has_value());
  EXPECT_EQ(gate_.in_use(), 1u);
}

// condition_variable_any::wait(lock, stop, pred) returns pred() after a stop:
// a run cancelled before its worker reached the queue must still not take a
// free slot (and go on to hooks and the driver before noticing the stop).
TEST_F(SlotGateTest, StopRequestedBeforeAcquireOnAFreeGateReturnsNullopt) {
  limit_ = 2;
  std::stop_source stop;
  stop.request_stop();
  std::optional<Slot> slot = gate_.acquire(stop.get_token());
  EXPECT_FALSE(slot.has_value());
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, GrowingTheLimitAndCallingLimitChangedWakesWaiters) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);

  unsigned before = checks();
  Waiter first(gate_);
  ASSERT_TRUE(checked_since(before));
  before = checks();
  Waiter second(gate_);
  ASSERT_TRUE(checked_since(before));
  EXPECT_FALSE(first.done_within(kStaysBlocked));

  limit_ = 3;
  gate_.limit_changed();
  ASSERT_TRUE(first.done_within(kGenerous));
  ASSERT_TRUE(second.done_within(kGenerous));
  EXPECT_EQ(gate_.in_use(), 3u);
  EXPECT_TRUE(first.take().has_value());
  EXPECT_TRUE(second.take().has_value());
  EXPECT_EQ(gate_.in_use(), 1u);
}

TEST_F(SlotGateTest, LimitChangedWithoutGrowthKeepsWaitersWaiting) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);
  const unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));

  const unsigned woken = checks();
  gate_.limit_changed();
  ASSERT_TRUE(checked_since(woken));  // it looked again and found no room
  EXPECT_FALSE(waiter.done_within(kStaysBlocked));
  EXPECT_EQ(gate_.in_use(), 1u);
}

TEST_F(SlotGateTest, ShrinkingTheLimitTakesEffectAsSlotsComeBack) {
  limit_ = 2;
  std::optional<Slot> a = gate_.acquire({});
  std::optional<Slot> b = gate_.acquire({});
  ASSERT_TRUE(a && b);

  limit_ = 1;
  gate_.limit_changed();
  unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));

  // One slot back: still one in use, which is the new limit.
  before = checks();
  a.reset();
  ASSERT_TRUE(checked_since(before));
  EXPECT_FALSE(waiter.done_within(kStaysBlocked));
  EXPECT_EQ(gate_.in_use(), 1u);

  b.reset();
  ASSERT_TRUE(waiter.done_within(kGenerous));
  EXPECT_TRUE(waiter.take().has_value());
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, ZeroLimitBehavesAsOne) {
  limit_ = 0;
  auto first = std::async(std::launch::async, [&] { return gate_.acquire({}); });
  ASSERT_EQ(first.wait_for(kGenerous), std::future_status::ready) << "limit 0 must admit one";
  std::optional<Slot> held = first.get();
  ASSERT_TRUE(held);
  EXPECT_EQ(gate_.in_use(), 1u);

  const unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));
  EXPECT_FALSE(waiter.done_within(kStaysBlocked)) << "limit 0 must admit only one";

  held.reset();
  ASSERT_TRUE(waiter.done_within(kGenerous));
  EXPECT_TRUE(waiter.take().has_value());
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, MovedSlotReleasesExactlyOnce) {
  limit_ = 3;
  std::optional<Slot> a = gate_.acquire({});
  std::optional<Slot> other = gate_.acquire({});
  ASSERT_TRUE(a && other);
  EXPECT_EQ(gate_.in_use(), 2u);
  {
    Slot moved(std::move(*a));
    EXPECT_EQ(gate_.in_use(), 2u);
    a.reset();  // the moved-from slot owns nothing
    EXPECT_EQ(gate_.in_use(), 2u);
  }
  EXPECT_EQ(gate_.in_use(), 1u);  // the moved-to slot released on scope exit

  // optional<Slot> moves the slot along with it.
  std::optional<Slot> b = std::move(other);
  EXPECT_EQ(gate_.in_use(), 1u);
  other.reset();
  EXPECT_EQ(gate_.in_use(), 1u);
  b.reset();
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, ExplicitReleaseIsIdempotent) {
  limit_ = 2;
  std::optional<Slot> a = gate_.acquire({});
  std::optional<Slot> b = gate_.acquire({});
  ASSERT_TRUE(a && b);
  a->release();
  EXPECT_EQ(gate_.in_use(), 1u);
  a->release();
  EXPECT_EQ(gate_.in_use(), 1u);
  a.reset();  // destructor after release: nothing more
  EXPECT_EQ(gate_.in_use(), 1u);
  b.reset();
  EXPECT_EQ(gate_.in_use(), 0u);
}

TEST_F(SlotGateTest, ExplicitReleaseWakesAWaiter) {
  std::optional<Slot> held = gate_.acquire({});
  ASSERT_TRUE(held);
  const unsigned before = checks();
  Waiter waiter(gate_);
  ASSERT_TRUE(checked_since(before));
  held->release();
  ASSERT_TRUE(waiter.done_within(kGenerous));
  EXPECT_TRUE(waiter.take().has_value());
}

// ---- first come, first served ---------------------------------------------

// Tickets taken in order a, b, c; the threads then ask in the opposite order.
// Each release must go to the oldest ticket still waiting.
TEST_F(SlotGateTest, SlotsGoToTheOldestTicketFirst) {
  std::optional<Slot> held = gate_.acquire({});
  std::vector<int> order;
  std::mutex order_mutex;
  std::vector<SlotGate::Ticket> tickets;
  for (int i = 0; i < 3; ++i) tickets.push_back(gate_.enqueue());
  EXPECT_EQ(gate_.waiting(), 3u);
  std::vector<std::jthread> threads;
  std::vector<std::optional<Slot>> slots(3);
  std::latch waiting(3);
  for (int i = 2; i >= 0; --i) {
    threads.emplace_back(
        [&, i, ticket = std::move(tickets[static_cast<std::size_t>(i)])]() mutable {
          waiting.count_down();
          auto slot = gate_.acquire(std::move(ticket), {});
          std::lock_guard lock(order_mutex);
          order.push_back(i);
          if (slot) slots[static_cast<std::size_t>(i)].emplace(std::move(*slot));
        });
  }
  waiting.wait();
  for (std::size_t expected = 0; expected < 3; ++expected) {
    std::this_thread::sleep_for(kStaysBlocked);  // a wrong waiter would get in meanwhile
    {
      std::lock_guard lock(order_mutex);
      ASSERT_EQ(order.size(), expected);
    }
    if (expected == 0) {
      held.reset();
    } else {
      std::lock_guard lock(order_mutex);
      slots[static_cast<std::size_t>(order.back())].reset();
    }
    ASSERT_TRUE(eventually([&] {
      std::lock_guard lock(order_mutex);
      return order.size() == expected + 1;
    }));
  }
  threads.clear();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(gate_.waiting(), 0u);
}

TEST_F(SlotGateTest, ADroppedTicketLetsTheNextOneIn) {
  SlotGate::Ticket first = gate_.enqueue();
  SlotGate::Ticket second = gate_.enqueue();
  auto result =
      std::async(std::launch::async, [&] { return gate_.acquire(std::move(second), {}); });
  EXPECT_EQ(result.wait_for(kStaysBlocked), std::future_status::timeout);  // behind `first`
  { SlotGate::Ticket gone = std::move(first); }
  ASSERT_EQ(result.wait_for(kGenerous), std::future_status::ready);
  EXPECT_TRUE(result.get().has_value());
}

TEST_F(SlotGateTest, AStoppedFrontWaiterLetsTheNextOneIn) {
  std::optional<Slot> held = gate_.acquire({});
  Waiter first(gate_);
  ASSERT_TRUE(eventually([&] { return gate_.waiting() == 1; }));
  Waiter second(gate_);
  ASSERT_TRUE(eventually([&] { return gate_.waiting() == 2; }));
  first.stop();
  ASSERT_TRUE(first.done_within(kGenerous));
  EXPECT_FALSE(first.take().has_value());
  held.reset();
  ASSERT_TRUE(second.done_within(kGenerous));
  EXPECT_TRUE(second.take().has_value());
}

TEST_F(SlotGateTest, AGrowingLimitLetsSeveralTicketsInOrder) {
  std::optional<Slot> held = gate_.acquire({});
  Waiter first(gate_);
  ASSERT_TRUE(eventually([&] { return gate_.waiting() == 1; }));
  Waiter second(gate_);
  ASSERT_TRUE(eventually([&] { return gate_.waiting() == 2; }));
  limit_ = 3;
  gate_.limit_changed();
  ASSERT_TRUE(first.done_within(kGenerous));
  ASSERT_TRUE(second.done_within(kGenerous));
  EXPECT_EQ(gate_.in_use(), 3u);
}

}  // namespace
}  // namespace backupy::runs::detail
