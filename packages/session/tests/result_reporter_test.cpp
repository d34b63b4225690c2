#include "backupy/session/result_reporter.hpp"

#include <gtest/gtest.h>

#include "backupy/session/refusing_command_handler.hpp"
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

TEST(RefusingCommandHandlerTest, RunBackupIsReportedFailedNotDropped) {
  testing::TestStateDir dir;
  auto db = dir.open();
  state::Outbox outbox(*db);
  ResultReporter reporter(outbox, nullptr);
  RefusingCommandHandler handler(reporter);
  backup::v1::Envelope run;
  run.mutable_run_backup()->set_job_id("nightly");
  run.mutable_run_backup()->set_run_id("run-1");
  EXPECT_FALSE(handler.handle(run).has_value());
  auto entries = outbox.read_after(0, 10);
  ASSERT_EQ(entries.size(), 1u);
  backup::v1::Envelope stored;
  ASSERT_TRUE(stored.ParseFromString(entries[0].payload));
  EXPECT_EQ(stored.job_update().status(), backup::v1::FAILED);
  EXPECT_EQ(stored.job_update().run_id(), "run-1");
  EXPECT_FALSE(stored.job_update().error_message().empty());

  backup::v1::Envelope update;
  update.mutable_self_update()->set_target_version("9.9.9");
  const auto ack = handler.handle(update);
  ASSERT_TRUE(ack.has_value());
  EXPECT_FALSE(ack->accepted());
  EXPECT_NE(ack->reason().find("self-update"), std::string::npos);
}

}  // namespace
}  // namespace backupy::session
