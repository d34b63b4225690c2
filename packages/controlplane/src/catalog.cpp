#include "catalog.hpp"

#include <algorithm>

#include "backupy/core/hex.hpp"
#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "backupy/sqlite/transaction.hpp"
#include "catalog_schema.hpp"

namespace backupy::controlplane::detail {
namespace {

using sqlite::Statement;

// HKDF of the master key: a key for this purpose only, so the master key could seal other
// things later without two uses ever sharing a key.
constexpr std::string_view kSealSalt = "backupy-control-plane/catalog/v1";
constexpr std::string_view kSealInfo = "run data encryption keys";
constexpr std::string_view kKeyCheck = "backupy catalog key check";
constexpr std::string_view kKeyCheckAad = "key-check";

std::int64_t i64(std::uint64_t value) {
  return static_cast<std::int64_t>(value);
}

std::uint64_t u64(const Statement& stmt, int column) {
  return static_cast<std::uint64_t>(stmt.column_int64(column));
}

std::optional<std::uint64_t> opt_u64(const Statement& stmt, int column) {
  if (stmt.column_is_null(column)) return std::nullopt;
  return u64(stmt, column);
}

Statement& bind_opt(Statement& stmt, int index, const std::optional<std::uint64_t>& value) {
  return value ? stmt.bind(index, i64(*value)) : stmt.bind_null(index);
}

void check_master_key(sqlite3* db, const crypto::SealingKey& key, const std::string& file) {
  Statement select(db, "SELECT key_check FROM meta WHERE id = 1");
  if (!select.step()) {
    Statement(db, "INSERT INTO meta (id, key_check) VALUES (1, ?1)")
        .bind_blob(1, crypto::seal(key, crypto::as_bytes(kKeyCheck), kKeyCheckAad))
        .run();
    return;
  }
  const std::optional<crypto::Bytes> check =
      crypto::unseal(key, select.column_blob(0), kKeyCheckAad);
  if (!check ||
      std::string_view(reinterpret_cast<const char*>(check->data()), check->size()) != kKeyCheck) {
    throw sqlite::Error("catalog " + file +
                        " was created under another master key: configure the master_key_file "
                        "it was created with (or the master.key beside it); without that key the "
                        "data keys of its runs cannot be unsealed");
  }
}

std::optional<RunTrigger> parse_trigger(std::string_view text) {
  if (text == to_string(RunTrigger::manual)) return RunTrigger::manual;
  if (text == to_string(RunTrigger::scheduled)) return RunTrigger::scheduled;
  if (text == to_string(RunTrigger::agent)) return RunTrigger::agent;
  return std::nullopt;
}

constexpr std::string_view kRunColumns =
    "run_id, sequence, job_id, agent_id, s3_key, created_ms, trigger, sealed_dek, status, "
    "sent_ms, finished_ms, current_step, progress_percent, error, completed, size_bytes, sha256, "
    "compression, db_engine_version, updates, catch_up, scheduled_for_ms, dek_known, dek_kms_id";

// Binds the mutable fields of run to ?9 .. ?24 (status .. dek_kms_id) and the run id to ?1.
void bind_mutable(Statement& stmt, const RunRecord& run) {
  stmt.bind_text(1, run.run_id)
      .bind_text(9, to_string(run.status))
      .bind(10, i64(run.sent_ms))
      .bind(11, i64(run.finished_ms))
      .bind_text(12, run.current_step)
      .bind(13, run.progress_percent)
      .bind_text(14, run.error)
      .bind(15, run.completed ? 1 : 0)
      .bind(16, i64(run.size_bytes))
      .bind_text(17, run.sha256)
      .bind_text(18, run.compression)
      .bind_text(19, run.db_engine_version)
      .bind(20, i64(run.updates))
      .bind(21, run.catch_up ? 1 : 0)
      .bind(22, i64(run.scheduled_for_ms))
      .bind(23, run.dek_known ? 1 : 0)
      .bind_text(24, run.dek_kms_id);
}

}  // namespace

std::unique_ptr<Catalog> Catalog::open(const std::filesystem::path& file,
                                       std::string_view master_key, const core::Logger& log) {
  const sqlite::Schema schema{catalog_migrations(), "catalog", "control plane"};
  sqlite::Connection db = sqlite::open(file, sqlite::Access::read_write, schema);
  crypto::SealingKey key = crypto::derive_sealing_key(master_key, kSealSalt, kSealInfo);
  std::unique_ptr<Catalog> catalog(new Catalog(file, std::move(db), key, log));
  crypto::secure_wipe(key);
  catalog->write([&] {
    sqlite3* raw = catalog->db_.get();
    check_master_key(raw, catalog->key_, file.string());
    // The previous process ended without closing these (a crash or SIGKILL): they ended at the
    // agent's last sign of life the catalog holds.
    Statement(raw,
              "UPDATE sessions SET close_reason = 'control plane stopped', disconnected_ms = "
              "coalesce((SELECT max(last_seen_ms, connected_since_ms) FROM agents "
              "WHERE agents.session_id = sessions.session_id), connected_ms) "
              "WHERE disconnected_ms = 0")
        .run();
    Statement(raw,
              "UPDATE agents SET disconnected_at_ms = max(last_seen_ms, connected_since_ms) "
              "WHERE disconnected_at_ms = 0")
        .run();
  });
  return catalog;
}

Catalog::Catalog(std::filesystem::path file, sqlite::Connection db, crypto::SealingKey key,
                 const core::Logger& log)
    : file_(std::move(file)), db_(std::move(db)), key_(key), log_(log) {}

Catalog::~Catalog() {
  crypto::secure_wipe(key_);
}

void Catalog::write(const std::function<void()>& fn) {
  sqlite::Transaction txn(db_.get(), "BEGIN IMMEDIATE");
  fn();
  txn.commit();
}

void Catalog::best_effort(std::string_view what, const std::function<void()>& fn) {
  try {
    write(fn);
  } catch (const sqlite::Error& e) {
    log_.warn("catalog_write_failed",
              {{"event", "catalog_write_failed"}, {"what", what}, {"error", e.what()}});
  }
}

// ------------------------------------------------------------------------------------ runs --

void Catalog::load_runs(const std::function<RunRecord&(const std::string& run_id)>& emplace) const {
  Statement select(db_.get(), "SELECT " + std::string(kRunColumns) + " FROM runs");
  while (select.step()) {
    const std::string run_id = select.column_blob(0);
    const auto fail = [&](std::string_view problem) {
      throw sqlite::Error("catalog " + file_.string() + ": run " + run_id + " " +
                          std::string(problem));
    };
    const std::optional<RunTrigger> trigger = parse_trigger(select.column_blob(6));
    if (!trigger) fail("has an unknown trigger \"" + select.column_blob(6) + "\"");
    const std::optional<RunStatus> status = parse_run_status(select.column_blob(8));
    if (!status) fail("has an unknown status \"" + select.column_blob(8) + "\"");
    std::optional<crypto::Bytes> dek = crypto::unseal(key_, select.column_blob(7), run_id);
    if (!dek || dek->size() != RunKey::kSize) {
      if (dek) crypto::secure_wipe(*dek);
      fail(
          "has a data key that does not open under the master key (damaged, or copied from "
          "another row)");
    }
    RunRecord& run = emplace(run_id);
    run.run_id = run_id;
    run.dek.assign(std::span<const std::uint8_t, RunKey::kSize>(dek->data(), RunKey::kSize));
    crypto::secure_wipe(*dek);
    run.sequence = u64(select, 1);
    run.job_id = select.column_blob(2);
    run.agent_id = select.column_blob(3);
    run.s3_key = select.column_blob(4);
    run.created_ms = u64(select, 5);
    run.trigger = *trigger;
    run.status = *status;
    run.sent_ms = u64(select, 9);
    run.finished_ms = u64(select, 10);
    run.current_step = select.column_blob(11);
    run.progress_percent = static_cast<std::uint32_t>(select.column_int64(12));
    run.error = select.column_blob(13);
    run.completed = select.column_int64(14) != 0;
    run.size_bytes = u64(select, 15);
    run.sha256 = select.column_blob(16);
    run.compression = select.column_blob(17);
    run.db_engine_version = select.column_blob(18);
    run.updates = u64(select, 19);
    run.catch_up = select.column_int64(20) != 0;
    run.scheduled_for_ms = u64(select, 21);
    run.dek_known = select.column_int64(22) != 0;
    run.dek_kms_id = select.column_blob(23);
  }
}

void Catalog::load_idempotency_keys(
    const std::function<void(std::string key, std::string run_id)>& fn) const {
  Statement select(db_.get(), "SELECT key, run_id FROM idempotency_keys");
  while (select.step()) fn(select.column_blob(0), select.column_blob(1));
}

void Catalog::insert_run(const RunRecord& run) {
  write([&] {
    Statement insert(db_.get(),
                     "INSERT INTO runs (" + std::string(kRunColumns) +
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                         "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)");
    bind_mutable(insert, run);
    insert.bind(2, i64(run.sequence))
        .bind_text(3, run.job_id)
        .bind_text(4, run.agent_id)
        .bind_text(5, run.s3_key)
        .bind(6, i64(run.created_ms))
        .bind_text(7, to_string(run.trigger))
        .bind_blob(8, crypto::seal(key_, run.dek.bytes(), run.run_id))
        .run();
  });
}

void Catalog::update_run(const RunRecord& run, const CatalogJobUpdate* update) {
  write([&] {
    Statement stmt(db_.get(),
                   "UPDATE runs SET status = ?9, sent_ms = ?10, finished_ms = ?11, "
                   "current_step = ?12, progress_percent = ?13, error = ?14, completed = ?15, "
                   "size_bytes = ?16, sha256 = ?17, compression = ?18, db_engine_version = ?19, "
                   "updates = ?20, catch_up = ?21, scheduled_for_ms = ?22, dek_known = ?23, "
                   "dek_kms_id = ?24 WHERE run_id = ?1");
    bind_mutable(stmt, run);
    stmt.run();
    if (sqlite3_changes(db_.get()) != 1) {
      throw sqlite::Error("catalog " + file_.string() + " has no run " + run.run_id);
    }
    if (update == nullptr) return;
    Statement(db_.get(),
              "INSERT INTO job_updates (run_id, kind, received_ms, status, progress_percent, "
              "current_step, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind_text(1, run.run_id)
        .bind_text(2, update->kind)
        .bind(3, i64(update->received_ms))
        .bind_text(4, update->status)
        .bind(5, update->progress_percent)
        .bind_text(6, update->current_step)
        .bind_text(7, update->error)
        .run();
  });
}

void Catalog::update_run_dek(const RunRecord& run) {
  write([&] {
    Statement(db_.get(),
              "UPDATE runs SET sealed_dek = ?2, dek_known = ?3, dek_kms_id = ?4 WHERE run_id = ?1")
        .bind_text(1, run.run_id)
        .bind_blob(2, crypto::seal(key_, run.dek.bytes(), run.run_id))
        .bind(3, run.dek_known ? 1 : 0)
        .bind_text(4, run.dek_kms_id)
        .run();
    if (sqlite3_changes(db_.get()) != 1) {
      throw sqlite::Error("catalog " + file_.string() + " has no run " + run.run_id);
    }
  });
}

void Catalog::erase_run(std::string_view run_id) {
  // job_updates and idempotency_keys follow by ON DELETE CASCADE.
  write([&] {
    Statement(db_.get(), "DELETE FROM runs WHERE run_id = ?1").bind_text(1, run_id).run();
  });
}

void Catalog::insert_idempotency_key(std::string_view key, std::string_view run_id) {
  write([&] {
    Statement(db_.get(), "INSERT OR REPLACE INTO idempotency_keys (key, run_id) VALUES (?1, ?2)")
        .bind_text(1, key)
        .bind_text(2, run_id)
        .run();
  });
}

std::vector<CatalogJobUpdate> Catalog::job_updates(std::string_view run_id) const {
  Statement select(db_.get(),
                   "SELECT kind, received_ms, status, progress_percent, current_step, error "
                   "FROM job_updates WHERE run_id = ?1 ORDER BY id");
  select.bind_text(1, run_id);
  std::vector<CatalogJobUpdate> out;
  while (select.step()) {
    out.push_back({select.column_blob(0), u64(select, 1), select.column_blob(2),
                   static_cast<std::uint32_t>(select.column_int64(3)), select.column_blob(4),
                   select.column_blob(5)});
  }
  return out;
}

// ---------------------------------------------------------------------------------- agents --

void Catalog::load_agents(const std::function<void(const CatalogAgent&)>& fn) const {
  Statement select(db_.get(),
                   "SELECT agent_id, first_seen_ms, last_seen_ms, last_heartbeat_ms, "
                   "agent_version, hostname, config_version_sent, config_version_acked, "
                   "session_id, connected_since_ms, disconnected_at_ms, agent_cron FROM agents");
  while (select.step()) {
    CatalogAgent agent;
    agent.agent_id = select.column_blob(0);
    agent.first_seen_ms = u64(select, 1);
    agent.last_seen_ms = u64(select, 2);
    agent.last_heartbeat_ms = u64(select, 3);
    agent.agent_version = select.column_blob(4);
    agent.hostname = select.column_blob(5);
    agent.config_version_sent = opt_u64(select, 6);
    agent.config_version_acked = opt_u64(select, 7);
    agent.session_id = select.column_blob(8);
    agent.connected_since_ms = u64(select, 9);
    agent.disconnected_at_ms = u64(select, 10);
    agent.agent_cron = select.column_int64(11) != 0;
    fn(agent);
  }
}

void Catalog::record_register(const CatalogAgent& agent, std::string_view remote) {
  best_effort("register", [&] {
    Statement upsert(
        db_.get(),
        "INSERT INTO agents (agent_id, first_seen_ms, last_seen_ms, last_heartbeat_ms, "
        "agent_version, hostname, config_version_sent, config_version_acked, session_id, "
        "connected_since_ms, disconnected_at_ms) VALUES (?1, ?2, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?2, 0) "
        "ON CONFLICT (agent_id) DO UPDATE SET last_seen_ms = ?2, agent_version = ?3, "
        "hostname = ?4, config_version_sent = ?5, config_version_acked = ?6, session_id = ?7, "
        "connected_since_ms = ?2, disconnected_at_ms = 0");
    upsert.bind_text(1, agent.agent_id)
        .bind(2, i64(agent.connected_since_ms))
        .bind_text(3, agent.agent_version)
        .bind_text(4, agent.hostname);
    bind_opt(upsert, 5, agent.config_version_sent);
    bind_opt(upsert, 6, agent.config_version_acked);
    upsert.bind_text(7, agent.session_id).run();
    Statement(db_.get(),
              "INSERT OR REPLACE INTO sessions (session_id, agent_id, remote, connected_ms, "
              "disconnected_ms, close_reason) VALUES (?1, ?2, ?3, ?4, 0, '')")
        .bind_text(1, agent.session_id)
        .bind_text(2, agent.agent_id)
        .bind_text(3, remote)
        .bind(4, i64(agent.connected_since_ms))
        .run();
  });
  // The first heartbeat of a session is always written.
  if (const auto it = heartbeat_written_ms_.find(agent.agent_id);
      it != heartbeat_written_ms_.end()) {
    heartbeat_written_ms_.erase(it);
  }
}

void Catalog::record_agent_cron(std::string_view agent_id, bool agent_cron) {
  best_effort("agent_cron", [&] {
    Statement(db_.get(), "UPDATE agents SET agent_cron = ?2 WHERE agent_id = ?1")
        .bind_text(1, agent_id)
        .bind(2, agent_cron ? 1 : 0)
        .run();
  });
}

void Catalog::record_config_sent(std::string_view agent_id, std::uint64_t version) {
  best_effort("config_sent", [&] {
    Statement(db_.get(), "UPDATE agents SET config_version_sent = ?2 WHERE agent_id = ?1")
        .bind_text(1, agent_id)
        .bind(2, i64(version))
        .run();
  });
}

bool Catalog::record_heartbeat(std::string_view agent_id, std::uint64_t now_ms,
                               std::uint64_t config_version_acked) {
  const auto it = heartbeat_written_ms_.find(agent_id);
  if (it != heartbeat_written_ms_.end() && now_ms < it->second + kHeartbeatWriteIntervalMs) {
    return false;
  }
  best_effort("heartbeat", [&] {
    Statement(db_.get(),
              "UPDATE agents SET last_heartbeat_ms = ?2, last_seen_ms = ?2, "
              "config_version_acked = ?3 WHERE agent_id = ?1")
        .bind_text(1, agent_id)
        .bind(2, i64(now_ms))
        .bind(3, i64(config_version_acked))
        .run();
  });
  heartbeat_written_ms_.insert_or_assign(std::string(agent_id), now_ms);
  return true;
}

void Catalog::record_disconnect(std::string_view agent_id, std::string_view session_id,
                                std::uint64_t now_ms, std::uint64_t last_heartbeat_ms,
                                std::string_view reason) {
  best_effort("disconnect", [&] {
    Statement(db_.get(),
              "UPDATE sessions SET disconnected_ms = ?2, close_reason = ?3 WHERE session_id = ?1")
        .bind_text(1, session_id)
        .bind(2, i64(now_ms))
        .bind_text(3, reason)
        .run();
    // Only if it is still the agent's latest session: a replaced session ends after its
    // successor registered.
    Statement(db_.get(),
              "UPDATE agents SET disconnected_at_ms = ?3, last_seen_ms = ?3, "
              "last_heartbeat_ms = max(last_heartbeat_ms, ?4) "
              "WHERE agent_id = ?1 AND session_id = ?2")
        .bind_text(1, agent_id)
        .bind_text(2, session_id)
        .bind(3, i64(now_ms))
        .bind(4, i64(last_heartbeat_ms))
        .run();
  });
}

// -------------------------------------------------------------- health results and logs --

namespace {

// Deletes agent_id's oldest rows of table beyond `keep`. table is one of our literals.
void trim(sqlite3* db, std::string_view table, std::string_view agent_id, std::size_t keep) {
  const std::string name(table);
  Statement(db, "DELETE FROM " + name + " WHERE agent_id = ?1 AND id <= (SELECT id FROM " + name +
                    " WHERE agent_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)")
      .bind_text(1, agent_id)
      .bind(2, static_cast<std::int64_t>(keep))
      .run();
}

std::size_t count(sqlite3* db, std::string_view table, std::string_view agent_id) {
  Statement select(db, "SELECT count(*) FROM " + std::string(table) + " WHERE agent_id = ?1");
  select.bind_text(1, agent_id);
  return select.step() ? static_cast<std::size_t>(select.column_int64(0)) : 0;
}

}  // namespace

void Catalog::record_health_result(std::string_view agent_id, std::uint64_t now_ms,
                                   const backup::v1::HealthCheckResult& result) {
  best_effort("health_result", [&] {
    Statement(db_.get(),
              "INSERT INTO health_results (agent_id, received_ms, check_id, ok, latency_ms, "
              "status_code, error, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .bind_text(1, agent_id)
        .bind(2, i64(now_ms))
        .bind_text(3, result.check_id())
        .bind(4, result.ok() ? 1 : 0)
        .bind(5, i64(result.latency_ms()))
        .bind(6, result.status_code())
        .bind_text(7, result.error())
        .bind_blob(8, result.SerializeAsString())
        .run();
    trim(db_.get(), "health_results", agent_id, kMaxHealthResultsPerAgent);
  });
}

void Catalog::record_log_event(std::string_view agent_id, std::uint64_t now_ms,
                               const backup::v1::LogEvent& event) {
  best_effort("log_event", [&] {
    Statement(db_.get(),
              "INSERT INTO log_events (agent_id, received_ms, level, job_id, message, payload) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .bind_text(1, agent_id)
        .bind(2, i64(now_ms))
        .bind_text(3, backup::v1::LogLevel_Name(event.level()))
        .bind_text(4, event.job_id())
        .bind_text(5, event.message())
        .bind_blob(6, event.SerializeAsString())
        .run();
    trim(db_.get(), "log_events", agent_id, kMaxLogEventsPerAgent);
  });
}

std::size_t Catalog::log_event_count(std::string_view agent_id) const {
  return count(db_.get(), "log_events", agent_id);
}

std::size_t Catalog::health_result_count(std::string_view agent_id) const {
  return count(db_.get(), "health_results", agent_id);
}

}  // namespace backupy::controlplane::detail
