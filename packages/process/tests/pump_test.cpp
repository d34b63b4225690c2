#include "backupy/process/pump.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <thread>

#include "backupy/test_support/heap_usage.hpp"
#include "process_test_helpers.hpp"

namespace backupy::process {
namespace {

using namespace std::chrono_literals;
using testing::eventually;
using testing::process_gone;
using testing::run_collect;
using testing::sh;
using testing::short_timeout;
using Clock = std::chrono::steady_clock;

std::vector<pid_t> pids_in(const std::string& text) {
  std::vector<pid_t> pids;
  std::istringstream in(text);
  for (std::string word; in >> word;) {
    if (!word.empty() && std::all_of(word.begin(), word.end(), ::isdigit)) {
      pids.push_back(std::stoi(word));
    }
  }
  return pids;
}

TEST(PumpTest, CollectsStdoutAndStderrSeparately) {
  const auto run = run_collect(sh("echo out; echo err >&2; echo more"));
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.result.ending, PumpResult::Ending::exited);
  EXPECT_EQ(run.out, "out\nmore\n");
  EXPECT_EQ(run.err, "err\n");
}

TEST(PumpTest, FailingExitIsNotOk) {
  const auto run = run_collect(sh("exit 7"));
  EXPECT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.ending, PumpResult::Ending::exited);
  EXPECT_EQ(run.result.status.code, 7);
}

TEST(PumpTest, WorksWithoutCapturedPipes) {
  SpawnOptions options = sh("echo ignored; exit 2");
  options.capture_stdout = false;
  options.capture_stderr = false;
  Child child = Child::spawn(options);
  const auto result = pump(child, {});
  EXPECT_EQ(result.status.code, 2);
  EXPECT_TRUE(child.exited());
}

TEST(PumpTest, TimeoutKillsTheWholeGroupQuickly) {
  const PumpOptions options = short_timeout();
  const auto start = Clock::now();
  const auto run = run_collect(sh("sleep 1000 & echo $!; sleep 1000 & echo $!; wait"), options);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(run.result.ending, PumpResult::Ending::timed_out);
  EXPECT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status.signal, SIGTERM);
  const auto pids = pids_in(run.out);
  ASSERT_EQ(pids.size(), 2u) << run.out;
  for (pid_t pid : pids) EXPECT_TRUE(eventually([&] { return process_gone(pid); })) << pid;
}

TEST(PumpTest, GroupIgnoringSigtermGetsSigkillAfterTheGrace) {
  const PumpOptions options = short_timeout();
  const auto start = Clock::now();
  // The ignored SIGTERM is inherited by the background sleep too.
  const auto run = run_collect(sh("trap '' TERM; sleep 1000 & echo $!; wait"), options);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_GE(Clock::now() - start, 800ms);  // SIGTERM at 0.3 s did nothing; SIGKILL at 0.8 s
  EXPECT_EQ(run.result.ending, PumpResult::Ending::timed_out);
  EXPECT_EQ(run.result.status.signal, SIGKILL);
  const auto pids = pids_in(run.out);
  ASSERT_EQ(pids.size(), 1u) << run.out;
  EXPECT_TRUE(eventually([&] { return process_gone(pids[0]); }));
}

TEST(PumpTest, StopTokenStopsTheChild) {
  std::stop_source stop;
  PumpOptions options;
  options.kill_grace = 500ms;
  // Ask for the stop once the child proves it is running: no sleep as a signal.
  options.on_stdout = [&](std::span<const char>) { stop.request_stop(); };
  Child child = Child::spawn(sh("echo ready; exec sleep 1000"));
  const auto result = pump(child, options, stop.get_token());
  EXPECT_EQ(result.ending, PumpResult::Ending::stopped);
  EXPECT_EQ(result.status.signal, SIGTERM);
  EXPECT_FALSE(result.ok());
}

TEST(PumpTest, StopFromAnotherThreadWakesThePump) {
  std::stop_source stop;
  Child child = Child::spawn(sh("exec sleep 1000"));
  std::jthread stopper([&] { stop.request_stop(); });
  const auto result = pump(child, {}, stop.get_token());
  EXPECT_EQ(result.ending, PumpResult::Ending::stopped);
  EXPECT_TRUE(child.exited());
}

TEST(PumpTest, AlreadyRequestedStopEndsAtOnce) {
  std::stop_source stop;
  stop.request_stop();
  Child child = Child::spawn(sh("exec sleep 1000"));
  const auto start = Clock::now();
  const auto result = pump(child, {}, stop.get_token());
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(result.ending, PumpResult::Ending::stopped);
}

TEST(PumpTest, SlowConsumerGetsEverythingWithBoundedMemory) {
  constexpr std::size_t kTotal = 50'000'000;
  std::size_t received = 0;
  std::size_t largest_chunk = 0;
  std::size_t calls = 0;
  bool all_zero = true;
  const std::size_t heap_before = test_support::heap_in_use();
  std::size_t heap_peak = heap_before;
  PumpOptions options;
  options.on_stdout = [&](std::span<const char> bytes) {
    received += bytes.size();
    largest_chunk = std::max(largest_chunk, bytes.size());
    all_zero = all_zero && std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
    heap_peak = std::max(heap_peak, test_support::heap_in_use());
    // A slow stage (compressor, full disk budget): the child must wait in write().
    if (++calls % 64 == 0) std::this_thread::sleep_for(1ms);
  };
  Child child = Child::spawn(sh("head -c 50000000 /dev/zero"));
  const auto result = pump(child, options);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(received, kTotal);
  EXPECT_TRUE(all_zero);
  EXPECT_LE(largest_chunk, 64u * 1024);
  EXPECT_LT(heap_peak - heap_before, 1u << 20) << "pump buffered the child's output";
}

TEST(PumpTest, ThrowingCallbackKillsTheGroupAndPropagates) {
  Child child = Child::spawn(sh("sleep 1000 & echo $!; wait"));
  pid_t grandchild = -1;
  PumpOptions options;
  options.on_stdout = [&](std::span<const char> bytes) {
    grandchild = std::stoi(std::string(bytes.data(), bytes.size()));
    throw std::runtime_error("sink full");
  };
  EXPECT_THROW(pump(child, options), std::runtime_error);
  EXPECT_TRUE(child.exited());
  EXPECT_EQ(child.wait().signal, SIGKILL);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(eventually([&] { return process_gone(grandchild); }));
}

TEST(PumpTest, BackgroundJobHoldingTheOutputPipeIsKilledAfterTheDrainWindow) {
  PumpOptions options;
  options.drain_after_exit = 300ms;
  const auto start = Clock::now();
  const auto run = run_collect(sh("sleep 100 & echo $!"), options);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(run.result.ok());  // the direct child did exit 0
  const auto pids = pids_in(run.out);
  ASSERT_EQ(pids.size(), 1u) << run.out;
  EXPECT_TRUE(eventually([&] { return process_gone(pids[0]); }));
}

TEST(PumpTest, LateOutputOfAGrandchildIsStillCollected) {
  // The shell exits at once; its background job writes later and then ends.
  const auto run = run_collect(sh("(sleep 0.2; echo late) &"));
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.out, "late\n");
}

TEST(PumpTest, DetachedBackgroundJobIsLeftAlone) {
  // Output redirected away from our pipes: the operator detached it on purpose.
  const auto run = run_collect(sh("sleep 1000 >/dev/null 2>&1 & echo $!"));
  EXPECT_TRUE(run.result.ok());
  const auto pids = pids_in(run.out);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_FALSE(process_gone(pids[0]));
  ::kill(pids[0], SIGKILL);
}

TEST(PumpTest, ExitWithinTheTimeoutIsNotATimeout) {
  PumpOptions options;
  options.timeout = 10s;
  const auto run = run_collect(sh("echo hi"), options);
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.out, "hi\n");
}

}  // namespace
}  // namespace backupy::process
