#include "migrations.hpp"

#include <array>

namespace backupy::state::detail {
namespace {

// v1: config snapshot and outbox.
//
// config_snapshot has at most one row (id = 1); save() replaces it inside a
// transaction, so readers see the old or the new snapshot, never a mix.
//
// outbox_class_count mirrors count(*) per class, maintained by triggers in the
// same transaction as the change. Bounding a class on every append then costs
// one row lookup instead of counting up to `limit` index entries each time.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE config_snapshot (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  version        INTEGER NOT NULL,
  config         BLOB    NOT NULL,  -- AgentConfig with every secret cleared
  sealed_secrets BLOB    NOT NULL,  -- AES-256-GCM(target_id -> password)
  key_check      BLOB    NOT NULL,  -- tells "other agent key" from corruption
  saved_at_ms    INTEGER NOT NULL
);

CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
  cls        INTEGER NOT NULL,
  payload    BLOB    NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE INDEX outbox_cls ON outbox (cls);  -- rowid (seq) order within a class

CREATE TABLE outbox_class_count (
  cls INTEGER PRIMARY KEY,
  n   INTEGER NOT NULL
);
CREATE TRIGGER outbox_count_insert AFTER INSERT ON outbox BEGIN
  INSERT INTO outbox_class_count (cls, n) VALUES (NEW.cls, 1)
    ON CONFLICT (cls) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox BEGIN
  UPDATE outbox_class_count SET n = n - 1 WHERE cls = OLD.cls;
END;
)sql";

// v2: the run journal (RunJournal).
//
// runs has one row per run_id. id is insertion order: it breaks ties between
// runs created in the same millisecond. state is the name from
// run_state_name(); it has no CHECK so that a later state needs no table
// rebuild (SQLite cannot alter a CHECK), and reads reject an unknown name.
// The two secrets are sealed separately, so update_creds() replaces the URL
// without having to open (and so be able to read) the DEK.
//
// run_events is append-only; rows go with their run (ON DELETE CASCADE,
// StateDb turns foreign keys on).
constexpr std::string_view kV2 = R"sql(
CREATE TABLE runs (
  id                 INTEGER PRIMARY KEY,      -- insertion order
  run_id             TEXT    NOT NULL UNIQUE,
  job_id             TEXT    NOT NULL,
  target_id          TEXT    NOT NULL,
  state              TEXT    NOT NULL,         -- queued, running, ... (run_state_name)
  manual_trigger     INTEGER NOT NULL,         -- 0 or 1
  encryption_enabled INTEGER NOT NULL,         -- 0 or 1
  reason             TEXT    NOT NULL,         -- of the latest change; '' if none
  created_ms         INTEGER NOT NULL,
  updated_ms         INTEGER NOT NULL,
  started_ms         INTEGER NOT NULL,         -- entered running; 0 if never
  finished_ms        INTEGER NOT NULL,         -- entered a terminal state; 0 if not yet
  sealed_put_url     BLOB    NOT NULL,         -- AES-256-GCM(presigned PUT URL), AAD names run_id
  creds_expires_ms   INTEGER NOT NULL,
  final_s3_key       TEXT    NOT NULL,
  sealed_dek         BLOB    NOT NULL,         -- AES-256-GCM(RunBackup.encrypted_dek), AAD names run_id
  -- The pipeline's result: all NULL until mark_spooled() (or an insert given one).
  spool_file         TEXT,                     -- file name inside the spool directory
  raw_bytes          INTEGER,
  stored_bytes       INTEGER,
  sha256_hex         TEXT,
  compression        TEXT,
  db_engine_version  TEXT
);
-- in_states(), and prune() (which sorts the terminal runs it finds here: few,
-- as prune() bounds them).
CREATE INDEX runs_state ON runs (state, created_ms);
CREATE INDEX runs_created ON runs (created_ms);       -- recent(): newest first

CREATE TABLE run_events (
  id     INTEGER PRIMARY KEY,  -- append order
  run_id TEXT    NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
  ts_ms  INTEGER NOT NULL,
  state  TEXT    NOT NULL,     -- the state entered
  reason TEXT    NOT NULL      -- '' if none
);
CREATE INDEX run_events_run ON run_events (run_id, id);  -- events(), and the cascade
)sql";

// v3: the agent's own scheduler (ScheduleStore, agent_cron.v1 mode).
//
// schedule_state remembers per job the last cron instant fired (or, for a job not fired
// yet, the moment it was first scheduled), so a run missed while the agent was down is
// caught up once and none fires twice. meta holds small named settings; its row
// 'agent_cron' ('1' or '0') is the scheduling mode last negotiated with a server, so an agent
// restarting while its control plane is down knows whether to schedule.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE schedule_state (
  job_id      TEXT    PRIMARY KEY,
  last_fire_s INTEGER NOT NULL  -- Unix seconds (UTC)
);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// v4: retries and agent-made runs (RunJournal).
//
// attempt / not_before_ms: RetryPolicy state, so a retry waiting for its backoff survives a
// restart. origin 'server' (RunBackup) or 'agent' (agent_cron.v1 fire); scheduled_for_ms and
// catch_up describe the fire. wrapped_dek is the DEK wrapped to the control plane's
// key-wrapping key (not a secret: only the control plane can open it); dek_kms_id names that
// key. The raw DEK of an agent run lives in sealed_dek until the run is spooled.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE runs ADD COLUMN attempt          INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN not_before_ms    INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN origin           TEXT    NOT NULL DEFAULT 'server';
ALTER TABLE runs ADD COLUMN scheduled_for_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN catch_up         INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN wrapped_dek      BLOB    NOT NULL DEFAULT x'';
ALTER TABLE runs ADD COLUMN dek_kms_id       TEXT    NOT NULL DEFAULT '';
)sql";

constexpr std::array<std::string_view, 4> kMigrations = {kV1, kV2, kV3, kV4};

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

}  // namespace backupy::state::detail
