#include "backupy/session/result_reporter.hpp"

#include <gtest/gtest.h>

#include "test_state_dir.hpp"

namespace backupy::session {
namespace {

backup::v1::Envelope job_update(backup::v1::JobStatus status) {
  backup::v1::Envelope envelope;
  envelope.mutable_job_update()->set_status(status);
  return envelope;
}

TEST(OutboxClassTest, FinalJobUpdatesAndCompletionsAreTerminal) {
  using state::OutboxClass;
  EXPECT_EQ(outbox_class_for(job_update(backup::v1::SUCCESS)), OutboxClass::terminal);
  EXPECT_EQ(outbox_class_for(job_update(backup::v1::FAILED)), OutboxClass::terminal);
  EXPECT_EQ(outbox_class_for(job_update(backup::v1::CANCELLED)), OutboxClass::terminal);
  EXPECT_EQ(outbox_class_for(job_update(backup::v1::RUNNING)), OutboxClass::progress);
  EXPECT_EQ(outbox_class_for(job_update(backup::v1::QUEUED)), OutboxClass::progress);
  backup::v1::Envelope retry = job_update(backup::v1::QUEUED);
  retry.mutable_job_update()->set_attempt(2);  // announces a retry after a failed attempt
  EXPECT_EQ(outbox_class_for(retry), OutboxClass::terminal);
  backup::v1::Envelope done;
  done.mutable_backup_completed();
  EXPECT_EQ(outbox_class_for(done), OutboxClass::terminal);
  backup::v1::Envelope log;
  log.mutable_log_event();
  EXPECT_EQ(outbox_class_for(log), OutboxClass::log);
  backup::v1::Envelope health;
  health.mutable_health_check_result();
  EXPECT_EQ(outbox_class_for(health), OutboxClass::health);
}

TEST(ResultReporterTest, CommitsToTheOutboxThenWakesTheSender) {
  testing::TestStateDir dir;
  auto db = dir.open();
  state::Outbox outbox(*db);
  int wakes = 0;
  ResultReporter reporter(outbox, [&] {
    ++wakes;
    EXPECT_EQ(outbox.depth(), 1u) << "wake must come after the commit";
  });
  const auto seq = reporter.report(job_update(backup::v1::FAILED));
  EXPECT_EQ(wakes, 1);
  auto entries = outbox.read_after(0, 10);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].seq, seq);
  backup::v1::Envelope stored;
  ASSERT_TRUE(stored.ParseFromString(entries[0].payload));
  EXPECT_GT(stored.ts_ms(), 0u);
}

}  // namespace
}  // namespace backupy::session
