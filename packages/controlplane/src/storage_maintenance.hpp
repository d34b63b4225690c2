#pragma once
// What the control plane does to stored objects after the agents are done with them (private
// to the package), always off the server thread (ServerState::background):
//
// - Object verification: a run succeeds only once its object exists in the storage with
//   exactly the size the agent reported in BackupCompleted (ObjectStore::stat: a local file's
//   size, an S3 presigned HEAD). A missing object or another size fails the run; a storage that
//   cannot answer leaves the run "verifying the stored object" and the check is retried by the
//   next maintenance tick (a restart resumes it too).
// - Retention: runs created more than their job's retention_days ago lose their object and
//   their catalog rows, except the newest successful run of each job (an operator always keeps
//   one restorable backup). Unfinished runs, jobs without retention_days (0) and runs of jobs no
//   longer in the configuration are kept. An object that cannot be deleted keeps its run for
//   the next sweep.
#include <cstdint>
#include <string>
#include <vector>

#include "backupy/controlplane/server_config.hpp"
#include "run_store.hpp"

namespace backupy::controlplane::detail {

struct ServerState;

inline constexpr std::uint64_t kMsPerDay = 24ull * 60 * 60 * 1000;

// Starts the object check of a completed run (no-op if one is already in flight for it).
void verify_stored_object(ServerState& state, const RunRecord& run);

// Restarts the checks a restart or an unavailable storage left unfinished.
void resume_object_checks(ServerState& state);

// The runs a retention sweep at now_ms removes (see above), oldest first.
std::vector<const RunRecord*> expired_runs(RunStore& runs, const ServerConfig& config,
                                           std::uint64_t now_ms);

// Deletes the objects of expired_runs() on the background thread, then their catalog rows;
// logs retention_sweep {expired, removed, failed}. Returns how many runs expired.
std::size_t sweep_retention(ServerState& state, std::uint64_t now_ms);

}  // namespace backupy::controlplane::detail
