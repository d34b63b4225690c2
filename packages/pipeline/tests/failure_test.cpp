// Failure paths: whatever stops a run (budget, source error, cancellation, a
// progress callback) propagates unchanged and leaves no spool file behind.
// ENOSPC is not simulated here: FileSink creates its file exclusively, so
// /dev/full cannot be the spool; stream_tests drives FileSink's NoSpaceError
// through /dev/full, and runs_tests fills a real 1 MiB tmpfs spool (where
// mounting is allowed). The pipeline's cleanup does not depend on which
// exception unwinds it.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>

#include "backupy/pipeline/pipeline.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "guard_sinks.hpp"
#include "test_support.hpp"

namespace backupy::pipeline {
namespace {

using testing::TempDir;

PipelineOptions options_in(const TempDir& dir) {
  PipelineOptions options;
  options.dek = testing::test_dek();
  options.spool_path = dir.path() / "run.spool";
  return options;
}

TEST(BudgetTest, ExceedingTheBudgetFailsAndRemovesTheSpool) {
  TempDir dir;
  PipelineOptions options = options_in(dir);
  options.max_spool_bytes = 1024 * 1024;
  const std::string input = testing::random_bytes(4 * 1024 * 1024);
  try {
    run_pipeline([&](stream::ByteSink& sink) { testing::write_in_pieces(sink, input); }, options);
    FAIL() << "no exception";
  } catch (const BudgetExceeded& e) {
    EXPECT_STREQ(e.what(), "spool would exceed the disk budget of 1048576 bytes");
    EXPECT_EQ(e.budget_bytes(), 1024u * 1024u);
  }
  EXPECT_TRUE(dir.empty());
}

TEST(BudgetTest, ASpoolOfExactlyTheBudgetSucceedsOneByteLessFails) {
  const std::string input = testing::random_bytes(200'000);
  TempDir dir;
  PipelineOptions options;
  options.codec = compress::Codec::none;  // stored size == input size
  options.spool_path = dir.path() / "run.spool";
  options.max_spool_bytes = input.size();
  const auto source = [&](stream::ByteSink& sink) { testing::write_in_pieces(sink, input); };
  EXPECT_EQ(run_pipeline(source, options).stored_bytes, input.size());
  std::filesystem::remove(options.spool_path);
  options.max_spool_bytes = input.size() - 1;
  EXPECT_THROW(run_pipeline(source, options), BudgetExceeded);
  EXPECT_TRUE(dir.empty());
}

TEST(BudgetTest, TheTerminatorCountsToo) {
  // An empty plain stream with encryption is exactly the 4-byte terminator.
  TempDir dir;
  PipelineOptions options = options_in(dir);
  options.codec = compress::Codec::none;
  options.max_spool_bytes = 3;
  EXPECT_THROW(run_pipeline([](stream::ByteSink&) {}, options), BudgetExceeded);
  EXPECT_TRUE(dir.empty());
  options.max_spool_bytes = 4;
  EXPECT_EQ(run_pipeline([](stream::ByteSink&) {}, options).stored_bytes, 4u);
}

TEST(FailureTest, ASourceThatThrowsMidwayLeavesNoFile) {
  TempDir dir;
  const PipelineOptions options = options_in(dir);
  const std::string input = testing::dump_like_text(3 * 1024 * 1024);
  try {
    run_pipeline(
        [&](stream::ByteSink& sink) {
          testing::write_in_pieces(sink, input);
          throw std::runtime_error("pg_dump exited with status 1");
        },
        options);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "pg_dump exited with status 1");
  }
  EXPECT_TRUE(dir.empty());
}

TEST(FailureTest, AProgressCallbackThatThrowsAbortsTheRun) {
  TempDir dir;
  PipelineOptions options = options_in(dir);
  options.progress_every_bytes = 1024;
  options.on_progress = [](std::uint64_t) { throw std::runtime_error("journal write failed"); };
  EXPECT_THROW(run_pipeline([](stream::ByteSink& sink) { sink.write(testing::random_bytes(4096)); },
                            options),
               std::runtime_error);
  EXPECT_TRUE(dir.empty());
}

TEST(FailureTest, AnExistingSpoolPathIsNeitherOverwrittenNorRemoved) {
  TempDir dir;
  const PipelineOptions options = options_in(dir);
  { std::ofstream(options.spool_path) << "another run's spool"; }
  EXPECT_THROW(run_pipeline([](stream::ByteSink& sink) { sink.write("data"); }, options),
               std::system_error);
  EXPECT_EQ(testing::read_file(options.spool_path), "another run's spool");
}

TEST(CancelTest, AStopRequestedBeforeTheRunCreatesNoFile) {
  TempDir dir;
  std::stop_source stop;
  stop.request_stop();
  bool source_ran = false;
  EXPECT_THROW(run_pipeline([&](stream::ByteSink&) { source_ran = true; }, options_in(dir),
                            stop.get_token()),
               stream::Cancelled);
  EXPECT_FALSE(source_ran);
  EXPECT_TRUE(dir.empty());
}

TEST(CancelTest, AStopDuringTheStreamThrowsFromTheNextWrite) {
  TempDir dir;
  std::stop_source stop;
  int writes_after_stop = 0;
  EXPECT_THROW(run_pipeline(
                   [&](stream::ByteSink& sink) {
                     const std::string chunk = testing::dump_like_text(64 * 1024);
                     for (int i = 0; i < 100; ++i) {
                       if (i == 10) stop.request_stop();
                       if (i >= 10) ++writes_after_stop;
                       sink.write(chunk);
                     }
                   },
                   options_in(dir), stop.get_token()),
               stream::Cancelled);
  EXPECT_EQ(writes_after_stop, 1);
  EXPECT_TRUE(dir.empty());
}

TEST(CancelTest, ASourceThatReturnsEarlyAfterAStopIsNotFinished) {
  // A driver that just stops producing on cancel must not yield a "complete"
  // spool of a truncated dump.
  TempDir dir;
  std::stop_source stop;
  EXPECT_THROW(run_pipeline(
                   [&](stream::ByteSink& sink) {
                     sink.write("partial");
                     stop.request_stop();
                   },
                   options_in(dir), stop.get_token()),
               stream::Cancelled);
  EXPECT_TRUE(dir.empty());
}

TEST(CancelTest, AStopFromAnotherThreadEndsAnEndlessSource) {
  TempDir dir;
  std::stop_source stop;
  std::jthread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop.request_stop();
  });
  const std::string chunk = testing::dump_like_text(256 * 1024);
  EXPECT_THROW(run_pipeline(
                   [&](stream::ByteSink& sink) {
                     for (;;) sink.write(chunk);
                   },
                   options_in(dir), stop.get_token()),
               stream::Cancelled);
  EXPECT_TRUE(dir.empty());
}

TEST(GuardSinkTest, BudgetSinkForwardsUpToTheBudgetAndUnlimitedIsZero) {
  stream::MemorySink out;
  detail::BudgetSink budget(out, 10);
  budget.write("0123456789");
  EXPECT_THROW(budget.write("x"), BudgetExceeded);
  budget.write("");
  budget.finish();
  EXPECT_EQ(out.data(), "0123456789");
  EXPECT_TRUE(out.finished());

  stream::MemorySink unlimited_out;
  detail::BudgetSink unlimited(unlimited_out, 0);
  unlimited.write(testing::random_bytes(100'000));
  EXPECT_EQ(unlimited_out.data().size(), 100'000u);
}

TEST(GuardSinkTest, StopSinkChecksBeforeWriteAndFinish) {
  stream::MemorySink out;
  std::stop_source stop;
  detail::StopSink head(out, stop.get_token());
  head.write("a");
  stop.request_stop();
  EXPECT_THROW(head.write("b"), stream::Cancelled);
  EXPECT_THROW(head.finish(), stream::Cancelled);
  EXPECT_EQ(out.data(), "a");
  EXPECT_FALSE(out.finished());
}

}  // namespace
}  // namespace backupy::pipeline
