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
inline constexpr std::string_view uploading = "uploading";
inline constexpr std::string_view completed = "completed";
}  // namespace step

// queued → QUEUED; running, spooled, uploading → RUNNING; completed → SUCCESS; ...
backup::v1::JobStatus wire_status(state::RunState state);

backup::v1::Envelope job_update(const std::string& job_id, const std::string& run_id,
                                backup::v1::JobStatus status, std::string_view current_step,
                                std::uint32_t progress_percent, std::string_view error = {});

// BackupCompleted for a run that reached `completed` (spool result and creds
// from the journal record).
backup::v1::Envelope backup_completed(const state::RunRecord& record, std::uint64_t duration_ms);

backup::v1::Envelope log_event(backup::v1::LogLevel level, const std::string& job_id,
                               std::string_view message,
                               const std::map<std::string, std::string>& fields);

// 0-99 while a step with a known total progresses; never 100 before it ends.
std::uint32_t percent_of(std::uint64_t done, std::uint64_t total);

}  // namespace backupy::runs::detail
