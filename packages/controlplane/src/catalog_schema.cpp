#include "catalog_schema.hpp"

#include <array>

namespace backupy::controlplane::detail {
namespace {

// v1.
//
// meta has one row: key_check is a constant sealed under the catalog's sealing key when the
// file is created, so opening with another master key fails with a clear message up front
// instead of at the first DEK.
//
// agents: one row per agent id that ever registered. last_heartbeat_ms is written at most once
// a minute per agent (Catalog::kHeartbeatWriteIntervalMs) and at disconnect.
//
// runs mirrors RunRecord. status and trigger are names (to_string()); they have no CHECK so a
// later value needs no table rebuild, and reads reject an unknown name. sealed_dek is
// AES-256-GCM(DEK) with the run id as AAD. job_updates and idempotency_keys go with their run
// (ON DELETE CASCADE; foreign keys are on).
//
// health_results and log_events keep the payload (protobuf bytes) beside the columns an
// operator queries; both are bounded per agent (Catalog::kMax...PerAgent).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  key_check BLOB    NOT NULL
);

CREATE TABLE agents (
  agent_id             TEXT    PRIMARY KEY,
  first_seen_ms        INTEGER NOT NULL,
  last_seen_ms         INTEGER NOT NULL,
  last_heartbeat_ms    INTEGER NOT NULL,  -- 0: none stored
  agent_version        TEXT    NOT NULL,
  hostname             TEXT    NOT NULL,
  config_version_sent  INTEGER,           -- NULL: none
  config_version_acked INTEGER,           -- NULL: none
  session_id           TEXT    NOT NULL,  -- the latest session
  connected_since_ms   INTEGER NOT NULL,
  disconnected_at_ms   INTEGER NOT NULL   -- 0 while connected
);

CREATE TABLE sessions (
  session_id      TEXT    PRIMARY KEY,
  agent_id        TEXT    NOT NULL,
  remote          TEXT    NOT NULL,
  connected_ms    INTEGER NOT NULL,
  disconnected_ms INTEGER NOT NULL,  -- 0 while open
  close_reason    TEXT    NOT NULL
);
CREATE INDEX sessions_agent ON sessions (agent_id, connected_ms);
CREATE INDEX sessions_open ON sessions (disconnected_ms);

CREATE TABLE runs (
  run_id            TEXT    PRIMARY KEY,
  sequence          INTEGER NOT NULL UNIQUE,  -- creation order
  job_id            TEXT    NOT NULL,
  agent_id          TEXT    NOT NULL,
  s3_key            TEXT    NOT NULL,
  created_ms        INTEGER NOT NULL,
  trigger           TEXT    NOT NULL,         -- manual | scheduled
  sealed_dek        BLOB    NOT NULL,
  status            TEXT    NOT NULL,         -- queued | running | success | failed | cancelled
  sent_ms           INTEGER NOT NULL,
  finished_ms       INTEGER NOT NULL,
  current_step      TEXT    NOT NULL,
  progress_percent  INTEGER NOT NULL,
  error             TEXT    NOT NULL,
  completed         INTEGER NOT NULL,         -- 0 or 1: BackupCompleted applied
  size_bytes        INTEGER NOT NULL,
  sha256            TEXT    NOT NULL,
  compression       TEXT    NOT NULL,
  db_engine_version TEXT    NOT NULL,
  updates           INTEGER NOT NULL
);
CREATE INDEX runs_agent ON runs (agent_id, sequence);
CREATE INDEX runs_job ON runs (job_id, sequence);

CREATE TABLE idempotency_keys (
  key    TEXT PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_run ON idempotency_keys (run_id);

CREATE TABLE job_updates (
  id               INTEGER PRIMARY KEY,  -- arrival order
  run_id           TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  kind             TEXT    NOT NULL,     -- job_update | backup_completed
  received_ms      INTEGER NOT NULL,
  status           TEXT    NOT NULL,     -- the run's status after it
  progress_percent INTEGER NOT NULL,
  current_step     TEXT    NOT NULL,
  error            TEXT    NOT NULL
);
CREATE INDEX job_updates_run ON job_updates (run_id, id);

CREATE TABLE health_results (
  id          INTEGER PRIMARY KEY,
  agent_id    TEXT    NOT NULL,
  received_ms INTEGER NOT NULL,
  check_id    TEXT    NOT NULL,
  ok          INTEGER NOT NULL,
  latency_ms  INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  error       TEXT    NOT NULL,
  payload     BLOB    NOT NULL   -- backup.v1.HealthCheckResult
);
CREATE INDEX health_results_agent ON health_results (agent_id, id);

CREATE TABLE log_events (
  id          INTEGER PRIMARY KEY,
  agent_id    TEXT    NOT NULL,
  received_ms INTEGER NOT NULL,
  level       TEXT    NOT NULL,
  job_id      TEXT    NOT NULL,
  message     TEXT    NOT NULL,
  payload     BLOB    NOT NULL   -- backup.v1.LogEvent
);
CREATE INDEX log_events_agent ON log_events (agent_id, id);
)sql";

// v2 (agent_cron.v1, docs/architecture.md "Agent-side scheduling"):
//
// agents.agent_cron: the scheduling mode negotiated at the agent's latest Register (1: the
// agent runs its jobs' cron itself and the server's schedule skips its jobs, also while it is
// offline). runs.trigger gains "agent" (a run the agent made and the server adopted);
// catch_up and scheduled_for_ms are what the agent said of it. dek_known = 0: the run's DEK has
// not been unwrapped yet (sealed_dek then holds a random placeholder that is never handed
// out); dek_kms_id names the key-wrapping key the agent wrapped it to.
constexpr std::string_view kV2 = R"sql(
ALTER TABLE agents ADD COLUMN agent_cron INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN catch_up INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN scheduled_for_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN dek_known INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN dek_kms_id TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<std::string_view, 2> kMigrations = {kV1, kV2};

}  // namespace

std::span<const std::string_view> catalog_migrations() {
  return kMigrations;
}

}  // namespace backupy::controlplane::detail
