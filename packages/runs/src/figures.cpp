// What RunManager tells the heartbeat and the metrics.
#include "run_manager_impl.hpp"
#include "spool_dir.hpp"

namespace backupy::runs {

// report, plus on_run_ended for terminal JobUpdates. Reports of a terminal state are made
// right after the journal's transition, in its transaction: the record read here is final.
ReportFn RunManager::Impl::observed(ReportFn report) {
  if (!options_.on_run_ended) return report;
  return [this, report = std::move(report)](backup::v1::Envelope envelope) {
    if (envelope.has_job_update()) {
      if (auto ended = run_ended(envelope.job_update())) options_.on_run_ended(*ended);
    }
    report(std::move(envelope));
  };
}

std::optional<RunEnded> RunManager::Impl::run_ended(const backup::v1::JobUpdate& update) const {
  const auto status = update.status();
  if (status != backup::v1::SUCCESS && status != backup::v1::FAILED &&
      status != backup::v1::CANCELLED) {
    return std::nullopt;
  }
  RunEnded ended{.job_id = update.job_id(), .status = status};
  const auto record = journal_.get(update.run_id());
  ended.finished_ms = record && record->finished_ms ? record->finished_ms : options_.now_ms();
  if (!record) return ended;
  ended.target_id = record->target_id;
  const std::uint64_t started = record->started_ms ? record->started_ms : record->created_ms;
  ended.duration_ms = ended.finished_ms > started ? ended.finished_ms - started : 0;
  if (record->spool) {
    ended.raw_bytes = record->spool->raw_bytes;
    ended.stored_bytes = record->spool->stored_bytes;
  }
  return ended;
}

std::size_t RunManager::Impl::queue_depth() const {
  return journal_.in_states({RunState::queued, RunState::spooled}).size();
}

std::size_t RunManager::Impl::busy_runs() const {
  return journal_.in_states({RunState::running, RunState::uploading}).size();
}

std::uint64_t RunManager::Impl::spool_bytes() const {
  return detail::spool_usage(options_.spool_dir);
}

}  // namespace backupy::runs
