#pragma once
// Backup runs the control plane dispatched (private to the package).
//
// A run is created by the operator API or the schedule, sent to its agent as RunBackup, and
// then follows the agent's JobUpdate / BackupCompleted results. Its data encryption key stays
// here so that decryption tokens can be issued later; it is wiped when the run goes away.
//
// With a Catalog the store loads every run at construction and writes every change through
// (one transaction each) before it shows in memory: a change the catalog refuses throws
// sqlite::Error and leaves the run as it was. The map stays as the cache every read uses.
// Without one (unit tests) runs live in memory for the life of the process.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane::detail {

class CpMetrics;

enum class RunStatus { queued, running, success, failed, cancelled };
std::string_view to_string(RunStatus status);
// success, failed and cancelled: nothing more will happen to the run.
bool is_finished(RunStatus status);

// current_step of a completed run while the control plane checks the stored object.
inline constexpr std::string_view kVerifyingStep = "verifying the stored object";

// Who asked for the run: an operator (API/CLI), the server's cron schedule, or the agent's own
// schedule (agent_cron.v1: the agent made the run id and the server adopted it).
enum class RunTrigger { manual, scheduled, agent };
std::string_view to_string(RunTrigger trigger);

// A random 32-byte AES-256 key that overwrites itself when destroyed. Not copyable, so the key
// lives in exactly one place.
class RunKey {
 public:
  static constexpr std::size_t kSize = 32;
  RunKey();  // fresh random bytes
  ~RunKey();
  RunKey(const RunKey&) = delete;
  RunKey& operator=(const RunKey&) = delete;
  std::span<const std::uint8_t, kSize> bytes() const { return bytes_; }
  // Replaces the key (a DEK unsealed from the catalog).
  void assign(std::span<const std::uint8_t, kSize> bytes);

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

struct RunRecord {
  std::string run_id;
  std::string job_id;
  std::string agent_id;
  std::string s3_key;            // where the agent was told to upload
  std::uint64_t created_ms = 0;  // wall clock at create()
  std::uint64_t sequence = 0;    // creation order (1, 2, ...): ties of created_ms
  RunTrigger trigger = RunTrigger::manual;
  RunKey dek;
  // False while an adopted run's DEK was not unwrapped yet (dek then holds random bytes that
  // must never be handed out). Runs the server made always know theirs.
  bool dek_known = true;
  std::string dek_kms_id;  // adopted runs: the key-wrapping key id the agent wrapped the DEK to
  // Adopted runs: the cron instant the agent ran it for, and whether it was a catch-up of an
  // instant missed while the agent was down.
  std::uint64_t scheduled_for_ms = 0;
  bool catch_up = false;
  RunStatus status = RunStatus::queued;
  // When RunBackup was last queued on the agent's session; 0 while the run waits for its agent
  // to come online (it is then sent, with fresh credentials, when the agent registers).
  std::uint64_t sent_ms = 0;
  std::uint64_t finished_ms = 0;  // when the run reached a finished status; 0 before
  std::string current_step;
  std::uint32_t progress_percent = 0;
  std::string error;
  // BackupCompleted arrived: the fields below describe the object. The run stays running
  // ("verifying the stored object") until confirm_object() compared the stored object's size.
  bool completed = false;
  std::uint64_t size_bytes = 0;
  std::string sha256;
  std::string compression;
  std::string db_engine_version;
  std::uint64_t updates = 0;  // JobUpdate + BackupCompleted messages applied
};

// GET /v1/runs filters; unset fields match everything.
struct RunFilter {
  std::optional<std::string> agent_id;
  std::optional<std::string> job_id;
  std::optional<RunStatus> status;
  std::size_t limit = 50;
};

// "queued", "running", ... (any case) -> the status; nullopt for other text.
std::optional<RunStatus> parse_run_status(std::string_view text);

class Catalog;
struct CatalogJobUpdate;

class RunStore {
 public:
  // Without a catalog the runs live in memory. With one (which must outlive the store) it
  // loads every run and idempotency key of it and writes through to it from now on; throws
  // sqlite::Error if the catalog cannot be read. metrics (optional, must outlive the store)
  // counts created and finished runs.
  explicit RunStore(Catalog* catalog = nullptr, CpMetrics* metrics = nullptr);

  // A queued, not yet sent run with a fresh run id ("run-" + 16 hex), DEK and S3 key
  // "agents/<agent>/<job>/<run id>.bkpy". The reference stays valid until erase().
  RunRecord& create(const std::string& job_id, const std::string& agent_id,
                    RunTrigger trigger = RunTrigger::manual);
  // Adopts a run the agent made (trigger agent) under the agent's run id: queued, not sent,
  // S3 key "agents/<agent>/<job>/<run id>.bkpy", dek_known false. The caller checked that the
  // id is free and well-formed. The reference stays valid until erase().
  RunRecord& adopt(const std::string& run_id, const std::string& job_id,
                   const std::string& agent_id, bool catch_up, std::uint64_t scheduled_for_ms);
  // Sets an adopted run's DEK (unwrapped from the agent's wrapped key) and its key id.
  void set_dek(RunRecord& run, std::span<const std::uint8_t, RunKey::kSize> dek,
               std::string kms_id);
  void erase(std::string_view run_id);
  RunRecord* find(std::string_view run_id);

  // The newest run of job_id that has not finished (waiting, sent or running), or nullptr:
  // a job never has two of them unless an operator asks for it.
  const RunRecord* active_run(std::string_view job_id) const;
  // agent_id's runs that wait for the agent (sent_ms == 0, not finished), oldest first.
  std::vector<RunRecord*> undelivered(std::string_view agent_id);

  // Every change of a run goes through these (and apply()), never through the reference, so
  // that a store can persist each one.
  // RunBackup for run was queued on a session at now_ms: the run is queued again (a resend
  // restarts a failed run), its error and progress cleared. For an adopted run (trigger agent)
  // RunBackup only carries fresh credentials for a run the agent is already working on: only
  // sent_ms changes.
  void mark_sent(RunRecord& run, std::uint64_t now_ms);
  // Ends a run that has not finished as failed with reason (e.g. its agent stayed offline,
  // its object is missing); a finished run is left alone.
  void fail(RunRecord& run, std::string reason, std::uint64_t now_ms);
  // Withdraws a run that still waits for its agent (sent_ms == 0): cancelled with reason. A run
  // the agent has is left alone (CancelJob is the agent's to act on).
  void withdraw(RunRecord& run, std::string reason, std::uint64_t now_ms);

  // The runs matching filter, newest first, at most filter.limit.
  std::vector<const RunRecord*> list(const RunFilter& filter) const;

  // Idempotency-Key -> run id (kept with the run: erase() forgets its keys).
  RunRecord* find_by_idempotency_key(std::string_view key);
  void remember_idempotency_key(std::string key, std::string run_id);

  // A run succeeds only once its stored object was checked: problem empty → success, else
  // failed with problem (e.g. "the stored object is 12 bytes, the agent reported 4096").
  // Only for a completed, unfinished run.
  void confirm_object(RunRecord& run, const std::string& problem, std::uint64_t now_ms);
  // Completed runs whose object check has not finished (a restart interrupted it).
  std::vector<RunRecord*> awaiting_verification();

  // Applies a result reported by agent_id (a SUCCESS JobUpdate or BackupCompleted leaves the
  // run running until confirm_object()); returns the run, or nullptr if the run id is unknown,
  // belongs to another agent (an agent can only report on its own runs), or the result is one
  // the run already has: a JobUpdate for a finished or completed run, a second BackupCompleted (an
  // agent replays its outbox after a reconnect; the result lands exactly once).
  RunRecord* apply(std::string_view agent_id, const backup::v1::JobUpdate& update);
  RunRecord* apply(std::string_view agent_id, const backup::v1::BackupCompleted& completed);

  std::size_t size() const { return runs_.size(); }

 private:
  RunRecord* owned_by(std::string_view agent_id, std::string_view run_id);
  // A new record under run_id (which must be free) with the fields create() and adopt() share,
  // not stored yet.
  std::map<std::string, RunRecord, std::less<>>::iterator emplace(const std::string& run_id,
                                                                  const std::string& job_id,
                                                                  const std::string& agent_id,
                                                                  RunTrigger trigger);
  // Inserts run (filled in by create/adopt) into the catalog; on failure forgets it.
  void insert(std::map<std::string, RunRecord, std::less<>>::iterator it);
  // Ends an unfinished run with status and reason (fail, withdraw).
  void end(RunRecord& run, RunStatus status, std::string reason, std::uint64_t now_ms);
  // Counts run's finish if it is finished now; callers only ever change unfinished runs.
  void note_finish(const RunRecord& run);
  // Stores run's fields (and update) in the catalog; on failure puts run back as `before` was
  // and rethrows.
  struct Fields;
  void persist(RunRecord& run, const Fields& before, const CatalogJobUpdate* update);
  // persist() with a job_updates row of `kind` describing run's new state.
  void record(RunRecord& run, const Fields& before, std::string_view kind);

  Catalog* catalog_ = nullptr;
  CpMetrics* metrics_ = nullptr;
  std::uint64_t last_sequence_ = 0;
  std::map<std::string, RunRecord, std::less<>> runs_;  // node-based: references stay valid
  std::map<std::string, std::string, std::less<>> idempotency_keys_;
};

}  // namespace backupy::controlplane::detail
