#include "backupy/session/log_forwarder.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "backupy/core/redactor.hpp"

namespace backupy::session {
namespace {

class LogForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::configure_logging(
        {.min_level = core::LogLevel::trace, .writer = [this](std::string_view line) {
           std::lock_guard lock(mutex_);
           stdout_ += line;
         }});
  }
  void TearDown() override { core::configure_logging({}); }

  LogForwarder::ReportFn capture() {
    return [this](backup::v1::Envelope envelope) {
      std::lock_guard lock(mutex_);
      sent_.push_back(std::move(envelope));
    };
  }
  std::vector<backup::v1::Envelope> sent() {
    std::lock_guard lock(mutex_);
    return sent_;
  }

  std::mutex mutex_;
  std::string stdout_;
  std::vector<backup::v1::Envelope> sent_;
  const core::Logger log_{"runs"};
};

TEST_F(LogForwarderTest, TheLevelDefaultsToWarnAndFollowsTheConfig) {
  EXPECT_EQ(forwarding_level(""), core::LogLevel::warn);
  EXPECT_EQ(forwarding_level("debug"), core::LogLevel::debug);
  EXPECT_EQ(forwarding_level("error"), core::LogLevel::error);
  EXPECT_EQ(forwarding_level("loud"), core::LogLevel::warn);  // validation refuses it anyway
}

TEST_F(LogForwarderTest, ForwardsLinesAtOrAboveTheLevelWithTheirFields) {
  LogForwarder forwarder(capture());
  forwarder.set_level(core::LogLevel::warn);
  log_.info("run queued", {{"job_id", "nightly"}});
  log_.warn("upload attempt failed; retrying", {{"job_id", "nightly"}, {"attempt", 2}});
  log_.error("run failed", {{"job_id", "nightly"}, {"run_id", "run-1"}});

  const auto events = sent();
  ASSERT_EQ(events.size(), 2u);
  const backup::v1::LogEvent& warn = events[0].log_event();
  EXPECT_EQ(warn.level(), backup::v1::WARN);
  EXPECT_EQ(warn.job_id(), "nightly");
  EXPECT_EQ(warn.message(), "upload attempt failed; retrying");
  EXPECT_EQ(warn.fields().at("component"), "runs");
  EXPECT_EQ(warn.fields().at("attempt"), "2");
  EXPECT_FALSE(warn.fields().contains("job_id"));  // it is the event's own field
  EXPECT_GT(warn.ts_ms(), 0u);
  EXPECT_EQ(events[1].log_event().level(), backup::v1::ERROR);
  EXPECT_EQ(events[1].log_event().fields().at("run_id"), "run-1");

  forwarder.set_level(core::LogLevel::info);
  log_.info("run queued", {{"job_id", "nightly"}});
  EXPECT_EQ(sent().size(), 3u);
}

TEST_F(LogForwarderTest, SecretsAreRedactedByValueAndByFieldName) {
  const std::string secret = "Forwarded-S3cret-Value-9Q";
  core::register_secret(secret);
  LogForwarder forwarder(capture());
  log_.error("dump failed: password authentication failed for " + secret,
             {{"detail", "connecting with " + secret}, {"password", "hunter2-not-registered"}});
  const auto events = sent();
  ASSERT_EQ(events.size(), 1u);
  const std::string bytes = events[0].SerializeAsString();
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find("hunter2-not-registered"), std::string::npos);
  EXPECT_NE(events[0].log_event().message().find("password authentication failed"),
            std::string::npos);
}

TEST_F(LogForwarderTest, TheRateLimitCountsWhatItHeldBackAndSaysSoLater) {
  std::uint64_t now = 1'000'000;
  LogForwarder forwarder(capture(), {.rate_per_sec = 1, .burst = 2, .now_ms = [&] { return now; }});
  for (int i = 0; i < 5; ++i) log_.warn("flapping", {{"i", i}});
  EXPECT_EQ(sent().size(), 2u);
  EXPECT_EQ(forwarder.rate_limited_total(), 3u);

  now += 5000;  // tokens are back
  log_.error("still failing");
  const auto events = sent();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].log_event().message(), "3 log lines were not sent (rate limit)");
  EXPECT_EQ(events[2].log_event().level(), backup::v1::WARN);
  EXPECT_EQ(events[3].log_event().message(), "still failing");
  EXPECT_EQ(forwarder.rate_limited_total(), 3u);
}

TEST_F(LogForwarderTest, LinesAlreadyReportedUpstreamAreNotSentTwice) {
  LogForwarder forwarder(capture());
  log_.warn("scheduled run skipped", {{"job_id", "nightly"}, {"reported_upstream", true}});
  log_.warn("scheduled run skipped", {{"job_id", "nightly"}, {"reported_upstream", false}});
  EXPECT_EQ(sent().size(), 1u);
}

TEST_F(LogForwarderTest, WhatTheReportLogsItselfIsWrittenButNotForwarded) {
  const core::Logger outbox("outbox");
  LogForwarder forwarder([&](backup::v1::Envelope envelope) {
    outbox.error("cannot append to the outbox", {{"error", "disk full"}});
    std::lock_guard lock(mutex_);
    sent_.push_back(std::move(envelope));
  });
  log_.error("run failed");
  EXPECT_EQ(sent().size(), 1u);  // no recursion, no deadlock
  std::lock_guard lock(mutex_);
  EXPECT_NE(stdout_.find("cannot append to the outbox"), std::string::npos);
}

TEST_F(LogForwarderTest, AFailingReportNeverReachesTheCaller) {
  LogForwarder forwarder([](backup::v1::Envelope) { throw std::runtime_error("disk full"); });
  EXPECT_NO_THROW(log_.error("run failed"));
}

TEST_F(LogForwarderTest, TheTapOnlyQueuesAndOnePostedFlushSendsInOrder) {
  std::vector<std::function<void()>> posted;
  LogForwarder forwarder(
      capture(), {.post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); }});
  log_.warn("first");
  log_.error("second");
  EXPECT_TRUE(sent().empty());   // nothing touched the outbox on the logging thread
  ASSERT_EQ(posted.size(), 1u);  // one flush for the batch
  posted[0]();
  const auto events = sent();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].log_event().message(), "first");
  EXPECT_EQ(events[1].log_event().message(), "second");
  log_.warn("third");
  EXPECT_EQ(posted.size(), 2u);  // the next line posts a new flush
}

TEST_F(LogForwarderTest, AQueueThatCannotDrainKeepsTheNewestAndCountsTheRest) {
  std::vector<std::function<void()>> posted;
  LogForwarder forwarder(capture(),
                         {.rate_per_sec = 1e9, .burst = 1e9, .post = [&](std::function<void()> fn) {
                            posted.push_back(std::move(fn));
                          }});
  const std::size_t total = LogForwarder::kMaxQueued + 5;
  for (std::size_t i = 0; i < total; ++i) log_.warn("line", {{"i", i}});
  EXPECT_EQ(forwarder.queue_dropped_total(), 5u);
  ASSERT_EQ(posted.size(), 1u);
  posted[0]();
  const auto events = sent();
  ASSERT_EQ(events.size(), LogForwarder::kMaxQueued);
  EXPECT_EQ(events.front().log_event().fields().at("i"), "5");
}

TEST_F(LogForwarderTest, NothingIsForwardedOnceTheForwarderIsGone) {
  { LogForwarder forwarder(capture()); }
  log_.error("run failed");
  EXPECT_TRUE(sent().empty());
}

}  // namespace
}  // namespace backupy::session
