#pragma once
// The journal of backup runs: one row per run_id, plus an append-only event
// history (every state change with its time and reason).
//
// State machine (docs/architecture.md, "Runs"):
//
//   queued ──► running ──► spooled ──► uploading ──► completed
//     ▲  │        │  │        │  ▲         │
//     └──┼────────┘  │        │  └─────────┤   (uploading → spooled: resumed after a restart,
//        │           │        │            │    or an upload failure waiting for its retry)
//        └───────────┴────────┴────────────┴──► failed | cancelled
//
// running → queued: a failed dump attempt waits for its retry (RetryPolicy), or a run left
// running by a crash is retried at start-up; the dump starts over from scratch.
//
// completed, failed and cancelled are terminal: no transition leaves them.
//
// Secrets at rest: the presigned PUT URL (a bearer credential) and the DEK
// bytes are sealed with AES-256-GCM under HKDF-SHA256(agent key, salt
// "backupy-agent/state/v1", info "run-secrets"), like the config secrets. If
// the agent key changed, a record comes back with secrets_unreadable = true
// and empty url/dek: the caller fails that run clearly instead of wedging.
// Each sealed secret is bound to its run_id (AAD): one copied to another row
// is unreadable there too.
//
// Thread-safe: every call is one SQLite transaction (StateDb::transaction for
// writes; a single SELECT under StateDb::with_connection for reads), so a
// read-only StateDb (dump-state) can use every reading call.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/state/state_db.hpp"

namespace backupy::state {

enum class RunState { queued, running, spooled, uploading, completed, failed, cancelled };

std::string_view run_state_name(RunState state);  // "queued", "running", ...
std::optional<RunState> parse_run_state(std::string_view name);
bool is_terminal(RunState state);
bool transition_allowed(RunState from, RunState to);

struct UploadCreds {
  std::string presigned_put_url;  // secret: sealed at rest, never logged
  std::uint64_t expires_at_ms = 0;
  std::string final_s3_key;
  bool operator==(const UploadCreds&) const = default;
};

// What the pipeline produced; recorded when the run reaches `spooled`.
struct SpoolResult {
  std::string spool_file;  // file name inside the spool directory (no path)
  std::uint64_t raw_bytes = 0;
  std::uint64_t stored_bytes = 0;
  std::string sha256_hex;
  std::string compression;        // what was really used
  std::string db_engine_version;  // the server's version, from the driver
  bool operator==(const SpoolResult&) const = default;
};

// Who made the run: the control plane (RunBackup, v1 and manual runs) or the agent's own
// schedule (agent_cron.v1, run ids "arun-...").
enum class RunOrigin { server, agent };
std::string_view run_origin_name(RunOrigin origin);  // "server", "agent"

struct RunRecord {
  std::string run_id;
  std::string job_id;
  std::string target_id;
  RunState state = RunState::queued;
  bool manual_trigger = false;
  bool encryption_enabled = true;
  std::string reason;  // of the latest change (failure, cancel, note); empty if none
  std::uint64_t created_ms = 0;
  std::uint64_t updated_ms = 0;
  std::uint64_t started_ms = 0;   // entered running; 0 if never
  std::uint64_t finished_ms = 0;  // entered a terminal state; 0 if not yet
  UploadCreds creds;
  // Server runs: RunBackup.encrypted_dek, echoed in BackupCompleted. Agent runs: the raw DEK
  // the agent made, kept (sealed) only until the run is spooled (wipe_dek()).
  std::vector<std::uint8_t> encrypted_dek;
  std::optional<SpoolResult> spool;  // set from `spooled` on
  bool secrets_unreadable = false;   // sealed under another agent key (or damaged)
  // Retries (RetryPolicy): the 1-based attempt, and when it may start (0: at once).
  std::uint32_t attempt = 1;
  std::uint64_t not_before_ms = 0;
  // Agent-made runs (agent_cron.v1).
  RunOrigin origin = RunOrigin::server;
  std::uint64_t scheduled_for_ms = 0;     // the cron instant (0 for server runs)
  bool catch_up = false;                  // fired at start-up for a missed instant
  std::vector<std::uint8_t> wrapped_dek;  // crypto::wrap_dek output (public, not sealed)
  std::string dek_kms_id;                 // KeyWrappingKey.key_id of wrapped_dek
  bool operator==(const RunRecord&) const = default;
};

struct RunEvent {
  std::uint64_t ts_ms = 0;
  RunState state = RunState::queued;
  std::string reason;
  bool operator==(const RunEvent&) const = default;
};

class RunJournal {
 public:
  RunJournal(StateDb& db, std::string_view agent_key);
  ~RunJournal();  // wipes the derived key
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  // Inserts a new run in record.state (normally queued; failed for a run
  // refused on arrival) with its first event. created_ms and updated_ms are
  // now_ms; started_ms / finished_ms are now_ms if record.state is running /
  // terminal, else 0 (the record's own timestamps and secrets_unreadable are
  // ignored; record.spool, if set, is stored). Returns false, changing
  // nothing, if run_id is already known.
  // Throws StateError.
  bool insert(const RunRecord& record, std::uint64_t now_ms);

  std::optional<RunRecord> get(std::string_view run_id);

  // Moves run_id to `to` and appends an event. Sets started_ms on entering
  // running and finished_ms on entering a terminal state; reason and
  // updated_ms are replaced. Returns false (changing nothing) if the run is
  // unknown or transition_allowed() says no.
  bool transition(std::string_view run_id, RunState to, std::string_view reason,
                  std::uint64_t now_ms);

  // running → spooled, recording the pipeline's result (one transaction).
  // Returns false (changing nothing) if the run is unknown or not running.
  bool mark_spooled(std::string_view run_id, const SpoolResult& result, std::uint64_t now_ms);

  // Replaces the upload credentials of a non-terminal run (a repeated
  // RunBackup) and updated_ms; no event (the state did not change). The DEK
  // is kept. Returns false if the run is unknown or terminal.
  bool update_creds(std::string_view run_id, const UploadCreds& creds, std::uint64_t now_ms);

  // A failed attempt waits for its retry: moves run_id to `to` (queued: the dump starts over,
  // spool result cleared; spooled: only the upload is retried), sets attempt and
  // not_before_ms, appends an event with reason. Returns false (changing nothing) if the run
  // is unknown or transition_allowed() (or spooled → spooled) says no.
  bool schedule_retry(std::string_view run_id, RunState to, std::uint32_t attempt,
                      std::uint64_t not_before_ms, std::string_view reason, std::uint64_t now_ms);

  // Replaces the sealed DEK of run_id with an empty one (an agent-made run's raw DEK, once
  // its blob is spooled: only the wrapped DEK is needed from then on). Returns false if the
  // run is unknown.
  bool wipe_dek(std::string_view run_id);

  // Every run in one of the given states, oldest first: by created_ms, then
  // insertion order (crash recovery).
  std::vector<RunRecord> in_states(const std::vector<RunState>& states);
  // The run's history, oldest first.
  std::vector<RunEvent> events(std::string_view run_id);
  // Newest first, at most limit (dump-state, diagnostics).
  std::vector<RunRecord> recent(std::size_t limit);

  // Deletes terminal runs (and their events) that finished before
  // older_than_ms, keeping at least the newest keep_at_least terminal runs
  // (by finished_ms). Non-terminal runs are never deleted. Returns how many
  // runs were deleted.
  std::size_t prune(std::uint64_t older_than_ms, std::size_t keep_at_least);

 private:
  StateDb& db_;
  std::array<std::uint8_t, 32> key_;  // HKDF(agent key, "run-secrets")
};

}  // namespace backupy::state
