#include "backupy/session/result_reporter.hpp"

#include "backupy/core/time.hpp"

namespace backupy::session {

state::OutboxClass outbox_class_for(const backup::v1::Envelope& envelope) {
  using backup::v1::Envelope;
  switch (envelope.payload_case()) {
    case Envelope::kJobUpdate: {
      const auto status = envelope.job_update().status();
      const bool final = status == backup::v1::SUCCESS || status == backup::v1::FAILED ||
                         status == backup::v1::CANCELLED;
      // A QUEUED update of attempt 2+ announces a retry and carries the failure that caused
      // it: a result of the failed attempt, never dropped (at most max_attempts per run).
      const bool retry = status == backup::v1::QUEUED && envelope.job_update().attempt() > 1;
      return final || retry ? state::OutboxClass::terminal : state::OutboxClass::progress;
    }
    case Envelope::kHealthCheckResult: return state::OutboxClass::health;
    case Envelope::kDiscoveryReport: return state::OutboxClass::discovery;
    case Envelope::kLogEvent: return state::OutboxClass::log;
    default: return state::OutboxClass::terminal;  // BackupCompleted, RestoreUpdate, ...
  }
}

ResultReporter::ResultReporter(state::Outbox& outbox, std::function<void()> wake)
    : outbox_(outbox), wake_(std::move(wake)) {}

std::uint64_t ResultReporter::report(backup::v1::Envelope envelope) {
  if (envelope.ts_ms() == 0) envelope.set_ts_ms(core::now_ms());
  const auto cls = outbox_class_for(envelope);
  const std::uint64_t seq = outbox_.append(cls, envelope.SerializeAsString());
  if (wake_) wake_();
  return seq;
}

}  // namespace backupy::session
