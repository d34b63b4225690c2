#pragma once
// Runs that agents make themselves (private to the package; agent_cron.v1, docs/protocol.md).
//
// An agent in agent_cron mode fires its jobs' cron itself, under run ids of its own, and wraps
// each run's DEK to the server's key-wrapping key. The server learns of such a run from the
// agent's UploadCredsRequest (or, if that was lost, from its first JobUpdate/BackupCompleted)
// and adopts it: a run with the agent's id, trigger "agent", whose DEK is unwrapped and sealed
// in the catalog like any DEK, so decryption tokens and download URLs work as for other runs.
//
// Log events: run_adopted (info), agent_run_refused (warn: a run id of another agent, a
// malformed id, a job the agent does not have), upload_creds_ignored (info: the run is
// finished), upload_creds_refused (warn: encrypted job without a wrapped key), agent_run_failed
// (warn: the wrapped DEK is unusable; the run fails with the reason), dek_mismatch (warn:
// BackupCompleted carries another DEK than the one already known; the first is kept).
#include <string>

#include "backup/v1/agent.pb.h"
#include "server_state.hpp"

namespace backupy::controlplane::detail {

// [A-Za-z0-9._-]{1,64}: what an agent-made run id may look like (it becomes part of the
// object key).
bool valid_agent_run_id(std::string_view run_id);

// UploadCredsRequest from agent_id: adopts an unknown run of a job the agent owns, takes its
// wrapped DEK, and answers RunBackup{manual_trigger false, fresh upload_creds, no DEK}. A
// known unfinished run of the agent gets fresh credentials again; a finished one is ignored.
// Throws sqlite::Error if the catalog refuses a change (like every run result: fail-stop).
void on_upload_creds_request(ServerState& state, const std::string& agent_id,
                             const backup::v1::UploadCredsRequest& request);

// Before a JobUpdate/BackupCompleted of agent_id is applied: an unknown run id of a job the
// agent owns is adopted if the agent is in agent_cron mode; a BackupCompleted of an adopted run
// hands over its wrapped DEK (unwrapped now if the run has none yet; an unusable one fails the
// run, since its backup could never be decrypted). Throws sqlite::Error like the above.
void prepare_agent_run_result(ServerState& state, const std::string& agent_id,
                              const backup::v1::Envelope& envelope);

}  // namespace backupy::controlplane::detail
