#include "reports.hpp"

#include <algorithm>

#include "backupy/core/time.hpp"

namespace backupy::runs::detail {

backup::v1::JobStatus wire_status(state::RunState state) {
  switch (state) {
    case state::RunState::queued: return backup::v1::QUEUED;
    case state::RunState::running:
    case state::RunState::spooled:
    case state::RunState::uploading: return backup::v1::RUNNING;
    case state::RunState::completed: return backup::v1::SUCCESS;
    case state::RunState::failed: return backup::v1::FAILED;
    case state::RunState::cancelled: return backup::v1::CANCELLED;
  }
  return backup::v1::JOB_STATUS_UNSPECIFIED;
}

backup::v1::Envelope job_update(const std::string& job_id, const std::string& run_id,
                                std::uint32_t attempt, backup::v1::JobStatus status,
                                std::string_view current_step, std::uint32_t progress_percent,
                                std::string_view error) {
  backup::v1::Envelope envelope;
  auto* update = envelope.mutable_job_update();
  update->set_job_id(job_id);
  update->set_run_id(run_id);
  update->set_attempt(attempt);
  update->set_status(status);
  update->set_current_step(std::string(current_step));
  update->set_progress_percent(progress_percent);
  if (!error.empty()) update->set_error_message(std::string(error));
  return envelope;
}

backup::v1::Envelope backup_completed(const state::RunRecord& record, std::uint64_t duration_ms) {
  backup::v1::Envelope envelope;
  auto* done = envelope.mutable_backup_completed();
  done->set_job_id(record.job_id);
  done->set_run_id(record.run_id);
  done->set_s3_key(record.creds.final_s3_key);
  done->set_duration_ms(duration_ms);
  if (record.encryption_enabled && record.origin == state::RunOrigin::agent) {
    done->set_encrypted_dek(std::string(record.wrapped_dek.begin(), record.wrapped_dek.end()));
    done->set_dek_kms_id(record.dek_kms_id);
  } else if (record.encryption_enabled) {
    done->set_encrypted_dek(std::string(record.encrypted_dek.begin(), record.encrypted_dek.end()));
  }
  if (record.spool) {
    done->set_size_bytes(record.spool->stored_bytes);
    done->set_sha256(record.spool->sha256_hex);
    done->set_compression(record.spool->compression);
    done->set_db_engine_version(record.spool->db_engine_version);
  }
  return envelope;
}

std::string queued_step(const state::RunRecord& record) {
  if (!record.catch_up) return std::string(step::queued);
  return "queued (catch-up of the run due at " + core::iso8601_utc(record.scheduled_for_ms) + ")";
}

std::string retry_step(std::uint32_t next_attempt, std::uint32_t max_attempts, std::uint64_t at_ms,
                       std::string_view reason) {
  return "retry " + std::to_string(next_attempt) + " of " + std::to_string(max_attempts) + " at " +
         core::iso8601_utc(at_ms) + " after: " + std::string(reason);
}

std::string window_step(std::string_view window, std::uint64_t until_ms) {
  return "waiting for the maintenance window (" + std::string(window) + ") to end at " +
         core::iso8601_utc(until_ms);
}

backup::v1::Envelope upload_creds_request(const state::RunRecord& record) {
  backup::v1::Envelope envelope;
  auto* request = envelope.mutable_upload_creds_request();
  request->set_job_id(record.job_id);
  request->set_run_id(record.run_id);
  request->set_scheduled_for_ms(record.scheduled_for_ms);
  request->set_catch_up(record.catch_up);
  request->set_dek_kms_id(record.dek_kms_id);
  request->set_encrypted_dek(std::string(record.wrapped_dek.begin(), record.wrapped_dek.end()));
  return envelope;
}

backup::v1::Envelope log_event(backup::v1::LogLevel level, const std::string& job_id,
                               std::string_view message,
                               const std::map<std::string, std::string>& fields) {
  backup::v1::Envelope envelope;
  auto* event = envelope.mutable_log_event();
  event->set_level(level);
  event->set_job_id(job_id);
  event->set_message(std::string(message));
  for (const auto& [key, value] : fields) (*event->mutable_fields())[key] = value;
  return envelope;
}

std::uint32_t percent_of(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(99, done * 100 / total));
}

}  // namespace backupy::runs::detail
