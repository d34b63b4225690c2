#pragma once
// The control plane's catalog (private to the package): one SQLite file in WAL mode holding
// agents, sessions, runs, idempotency keys, applied job updates, health results and log events
// (schema and decisions: catalog_schema.cpp and docs/architecture.md "Catalog").
//
// Each run's data encryption key is sealed with AES-256-GCM under a key derived from the master
// key (HKDF-SHA256), with the run id as AAD: a DEK copied to another row does not open. A
// key-check blob, sealed when the catalog is created, tells "another master key" from damage
// at open.
//
// Touched only from the server's io_context thread, like the rest of ServerState: one
// connection, no locking. Writes are small WAL commits without fsync (synchronous=NORMAL:
// they survive a crash of the process; a power cut may lose the latest ones), so they stay on
// that thread.
//
// Failures throw sqlite::Error (naming the file). The run methods let it through: a run change
// that cannot be stored must not look stored. The record_* methods for agents, sessions,
// health results and log events are telemetry: they log "catalog_write_failed" and go on.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/core/log.hpp"
#include "backupy/crypto/sealed_box.hpp"
#include "backupy/sqlite/database.hpp"
#include "run_store.hpp"

namespace backupy::controlplane::detail {

// What the catalog remembers of an agent (GET /v1/agents after a restart).
struct CatalogAgent {
  std::string agent_id;
  std::uint64_t first_seen_ms = 0;
  std::uint64_t last_seen_ms = 0;  // latest register, stored heartbeat or disconnect
  std::uint64_t last_heartbeat_ms = 0;
  std::string agent_version;
  std::string hostname;
  std::optional<std::uint64_t> config_version_sent;
  std::optional<std::uint64_t> config_version_acked;
  std::string session_id;  // of the latest session
  std::uint64_t connected_since_ms = 0;
  std::uint64_t disconnected_at_ms = 0;  // 0: the process ended while it was connected
  bool agent_cron = false;  // the mode negotiated at its latest Register (agent_cron.v1)
};

// One applied JobUpdate or BackupCompleted (the job_updates table).
struct CatalogJobUpdate {
  std::string kind;  // "job_update" or "backup_completed"
  std::uint64_t received_ms = 0;
  std::string status;  // the run's status after it
  std::uint32_t progress_percent = 0;
  std::string current_step;
  std::string error;
};

class Catalog {
 public:
  // At most this many log events and health results are kept per agent; older ones are
  // deleted as new ones arrive.
  static constexpr std::size_t kMaxLogEventsPerAgent = 1000;
  static constexpr std::size_t kMaxHealthResultsPerAgent = 1000;
  // A heartbeat is written at most this often per agent (the in-memory board has every one):
  // 1,000 agents beating every 30 s cost ~17 small commits a second instead of ~33. The first
  // heartbeat of a session, register and disconnect are always written.
  static constexpr std::uint64_t kHeartbeatWriteIntervalMs = 60'000;

  // Opens (creating, migrating) file. master_key seals the DEKs; a catalog created under
  // another key is refused with an error that says so. Sessions the previous process left open
  // are closed ("control plane stopped") at their agent's last sign of life.
  static std::unique_ptr<Catalog> open(const std::filesystem::path& file,
                                       std::string_view master_key, const core::Logger& log);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  const std::filesystem::path& file() const { return file_; }

  // ------------------------------------------------------------------ runs --
  // emplace(run_id) returns the record to fill; called for every stored run, DEK unsealed.
  // Throws sqlite::Error if a DEK does not open or a row is not understood (nothing is
  // skipped silently).
  void load_runs(const std::function<RunRecord&(const std::string& run_id)>& emplace) const;
  void load_idempotency_keys(
      const std::function<void(std::string key, std::string run_id)>& fn) const;
  // Inserts a new run (DEK sealed).
  void insert_run(const RunRecord& run);
  // Stores every mutable field of run, and `update` (if any) in the same transaction.
  void update_run(const RunRecord& run, const CatalogJobUpdate* update = nullptr);
  // Stores run's DEK (sealed), dek_known and dek_kms_id: an adopted run's DEK unwrapped later.
  void update_run_dek(const RunRecord& run);
  // Deletes the run with its job updates and idempotency keys.
  void erase_run(std::string_view run_id);
  void insert_idempotency_key(std::string_view key, std::string_view run_id);
  std::vector<CatalogJobUpdate> job_updates(std::string_view run_id) const;

  // ---------------------------------------------------------------- agents --
  void load_agents(const std::function<void(const CatalogAgent&)>& fn) const;
  void record_register(const CatalogAgent& agent, std::string_view remote);
  void record_config_sent(std::string_view agent_id, std::uint64_t version);
  // The scheduling mode negotiated at the agent's Register (after record_register). A failure
  // is logged: this process keeps the mode in memory; after a restart the server would
  // schedule the agent's jobs again until the agent registers.
  void record_agent_cron(std::string_view agent_id, bool agent_cron);
  // Throttled per agent (kHeartbeatWriteIntervalMs); true if written.
  bool record_heartbeat(std::string_view agent_id, std::uint64_t now_ms,
                        std::uint64_t config_version_acked);
  void record_disconnect(std::string_view agent_id, std::string_view session_id,
                         std::uint64_t now_ms, std::uint64_t last_heartbeat_ms,
                         std::string_view reason);

  // ------------------------------------------------ health results and logs --
  void record_health_result(std::string_view agent_id, std::uint64_t now_ms,
                            const backup::v1::HealthCheckResult& result);
  void record_log_event(std::string_view agent_id, std::uint64_t now_ms,
                        const backup::v1::LogEvent& event);
  std::size_t log_event_count(std::string_view agent_id) const;
  std::size_t health_result_count(std::string_view agent_id) const;

 private:
  Catalog(std::filesystem::path file, sqlite::Connection db, crypto::SealingKey key,
          const core::Logger& log);
  // Runs fn inside BEGIN IMMEDIATE ... COMMIT.
  void write(const std::function<void()>& fn);
  // write(fn), logging instead of throwing (telemetry).
  void best_effort(std::string_view what, const std::function<void()>& fn);

  std::filesystem::path file_;
  sqlite::Connection db_;
  crypto::SealingKey key_;  // wiped in the destructor
  const core::Logger& log_;
  std::map<std::string, std::uint64_t, std::less<>> heartbeat_written_ms_;
};

// The master key for the catalog: config.master_key if configured, else the contents of
// <catalog dir>/master.key, generated (32 random bytes as hex, 0600, written atomically) when
// missing, with a warning that production should keep the key elsewhere — unless the catalog
// already exists (its key is lost: an error, never a replacement). Registered with the log
// redactor. Throws std::runtime_error naming the file if it cannot be read or created.
std::string catalog_master_key(const std::filesystem::path& catalog_file,
                               const std::string& configured, const core::Logger& log);

}  // namespace backupy::controlplane::detail
