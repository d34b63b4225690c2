#pragma once
// The envelopes a run sends upstream, built in one place so their shape is
// documented once (docs/protocol.md, "Runs").
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "backupy/state/run_journal.hpp"

namespace backupy::runs::detail {

// current_step values.
namespace step {
inline constexpr std::string_view queued = "queued";
inline constexpr std::string_view pre_hooks = "pre_hooks";
inline constexpr std::string_view dumping = "dumping";
inline constexpr std::string_view waiting_for_upload = "waiting_for_upload";
inline constexpr std::string_view waiting_for_credentials = "waiting_for_upload_credentials";
inline constexpr std::string_view uploading = "uploading";
inline constexpr std::string_view completed = "completed";
}  // namespace step

// queued → QUEUED; running, spooled, uploading → RUNNING; completed → SUCCESS; ...
backup::v1::JobStatus wire_status(state::RunState state);

// attempt: the run's 1-based attempt (every JobUpdate carries it).
backup::v1::Envelope job_update(const std::string& job_id, const std::string& run_id,
                                std::uint32_t attempt, backup::v1::JobStatus status,
                                std::string_view current_step, std::uint32_t progress_percent,
                                std::string_view error = {});

// "queued", or for a catch-up "queued (catch-up of the run due at <iso>)".
std::string queued_step(const state::RunRecord& record);
// "retry <next> of <max> at <iso> after: <reason>"
std::string retry_step(std::uint32_t next_attempt, std::uint32_t max_attempts, std::uint64_t at_ms,
                       std::string_view reason);
// "waiting for the maintenance window (22:00-02:00 UTC) to end at <iso>"
std::string window_step(std::string_view window, std::uint64_t until_ms);

// UploadCredsRequest of an agent-made run (its wrapped DEK, never the raw one).
backup::v1::Envelope upload_creds_request(const state::RunRecord& record);

// BackupCompleted for a run that reached `completed` (spool result and creds
// from the journal record). Agent-made runs carry the wrapped DEK and its key
// id; server runs echo RunBackup.encrypted_dek.
backup::v1::Envelope backup_completed(const state::RunRecord& record, std::uint64_t duration_ms);

backup::v1::Envelope log_event(backup::v1::LogLevel level, const std::string& job_id,
                               std::string_view message,
                               const std::map<std::string, std::string>& fields);

// 0-99 while a step with a known total progresses; never 100 before it ends.
std::uint32_t percent_of(std::uint64_t done, std::uint64_t total);

}  // namespace backupy::runs::detail
