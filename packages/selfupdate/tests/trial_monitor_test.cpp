// The trial's deadline on its own thread: confirm in time, expire, a wedged rollback.
#include "backupy/selfupdate/trial_monitor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace backupy::selfupdate {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

TEST(TrialMonitor, AConfirmationInTimeCancelsTheRollback) {
  std::atomic<int> expired{0};
  std::atomic<int> wedged{0};
  {
    TrialMonitor monitor(
        Clock::now() + 100ms, 10ms, [&] { ++expired; }, [&] { ++wedged; });
    EXPECT_TRUE(monitor.confirm());
    EXPECT_TRUE(monitor.confirm());      // idempotent
    std::this_thread::sleep_for(200ms);  // past the deadline: nothing may fire
  }
  EXPECT_EQ(expired, 0);
  EXPECT_EQ(wedged, 0);
}

TEST(TrialMonitor, TheDeadlineFiresOnceAndALateConfirmationIsRefused) {
  std::promise<std::thread::id> fired;
  std::atomic<int> wedged{0};
  TrialMonitor monitor(
      Clock::now() + 50ms, 10s, [&] { fired.set_value(std::this_thread::get_id()); },
      [&] { ++wedged; });
  auto future = fired.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());  // the monitor's own thread
  EXPECT_FALSE(monitor.confirm());
  EXPECT_EQ(wedged, 0);  // the orderly path still has its grace
}

TEST(TrialMonitor, AnOrderlyRollbackThatNeverEndsIsForced) {
  std::atomic<int> expired{0};
  std::promise<void> wedged;
  TrialMonitor monitor(
      Clock::now() + 10ms, 50ms, [&] { ++expired; }, [&] { wedged.set_value(); });
  ASSERT_EQ(wedged.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(expired, 1);
}

TEST(TrialMonitor, DestroyingItStopsEveryCallback) {
  std::atomic<int> calls{0};
  {
    TrialMonitor monitor(
        Clock::now() + 10s, 10ms, [&] { ++calls; }, [&] { ++calls; });
  }  // returns at once, nothing fired
  EXPECT_EQ(calls, 0);

  std::promise<void> expired;
  std::atomic<int> wedged{0};
  {
    TrialMonitor monitor(
        Clock::now(), 10s, [&] { expired.set_value(); }, [&] { ++wedged; });
    ASSERT_EQ(expired.get_future().wait_for(5s), std::future_status::ready);
  }  // the orderly rollback destroyed the monitor within its grace
  EXPECT_EQ(wedged, 0);
}

}  // namespace
}  // namespace backupy::selfupdate
