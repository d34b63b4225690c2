#include "backupy/state/run_journal.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "backupy/sqlite/error.hpp"
#include "backupy/sqlite/statement.hpp"
#include "sealed_box.hpp"
#include "wipe.hpp"

namespace backupy::state {
namespace {

constexpr std::string_view kSecretsInfo = "run-secrets";
constexpr std::string_view kUrlField = "presigned_put_url";
constexpr std::string_view kDekField = "encrypted_dek";

// Binds a sealed secret to its run and its column: a blob copied to another
// row (or to the other secret's column) fails to open instead of handing one
// run's upload URL to another. Field names hold no NUL, so this is unambiguous.
std::string aad_for(std::string_view field, std::string_view run_id) {
  std::string aad(field);
  aad += '\0';
  aad += run_id;
  return aad;
}

// Timestamps and sizes are far below 2^63; clamp anyway so that a bogus
// caller value cannot wrap into a negative number in the database.
std::int64_t to_db(std::uint64_t value) {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(value, std::numeric_limits<std::int64_t>::max()));
}

std::uint64_t from_db(std::int64_t value) {
  return value < 0 ? 0 : static_cast<std::uint64_t>(value);
}

// Must list the columns in the order read_run() reads them.
constexpr std::string_view kColumns =
    "run_id, job_id, target_id, state, manual_trigger, encryption_enabled, reason, "
    "created_ms, updated_ms, started_ms, finished_ms, "
    "sealed_put_url, creds_expires_ms, final_s3_key, sealed_dek, "
    "spool_file, raw_bytes, stored_bytes, sha256_hex, compression, db_engine_version, "
    "attempt, not_before_ms, origin, scheduled_for_ms, catch_up, wrapped_dek, dek_kms_id";

constexpr std::string_view kInsert =
    "INSERT INTO runs (run_id, job_id, target_id, state, manual_trigger, encryption_enabled, "
    " reason, created_ms, updated_ms, started_ms, finished_ms, "
    " sealed_put_url, creds_expires_ms, final_s3_key, sealed_dek, "
    " spool_file, raw_bytes, stored_bytes, sha256_hex, compression, db_engine_version, "
    " attempt, not_before_ms, origin, scheduled_for_ms, catch_up, wrapped_dek, dek_kms_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) "
    "ON CONFLICT (run_id) DO NOTHING";
constexpr std::string_view kState = "SELECT state FROM runs WHERE run_id = ?1";
// ?4 / ?5: whether this move enters running / a terminal state.
constexpr std::string_view kMove =
    "UPDATE runs SET state = ?1, reason = ?2, updated_ms = ?3,"
    " started_ms = CASE WHEN ?4 THEN ?3 ELSE started_ms END,"
    " finished_ms = CASE WHEN ?5 THEN ?3 ELSE finished_ms END "
    "WHERE run_id = ?6";
constexpr std::string_view kAddEvent =
    "INSERT INTO run_events (run_id, ts_ms, state, reason) VALUES (?1, ?2, ?3, ?4)";
constexpr std::string_view kSetSpool =
    "UPDATE runs SET spool_file = ?1, raw_bytes = ?2, stored_bytes = ?3, sha256_hex = ?4,"
    " compression = ?5, db_engine_version = ?6 WHERE run_id = ?7";
constexpr std::string_view kSetCreds =
    "UPDATE runs SET sealed_put_url = ?1, creds_expires_ms = ?2, final_s3_key = ?3,"
    " updated_ms = ?4 WHERE run_id = ?5";
constexpr std::string_view kRetry =
    "UPDATE runs SET attempt = ?1, not_before_ms = ?2 WHERE run_id = ?3";
// A dump retried from scratch: the old spool result is gone.
constexpr std::string_view kClearSpool =
    "UPDATE runs SET spool_file = NULL, raw_bytes = NULL, stored_bytes = NULL, sha256_hex = NULL,"
    " compression = NULL, db_engine_version = NULL WHERE run_id = ?1";
constexpr std::string_view kSetDek = "UPDATE runs SET sealed_dek = ?1 WHERE run_id = ?2";
constexpr std::string_view kEvents =
    "SELECT ts_ms, state, reason FROM run_events WHERE run_id = ?1 ORDER BY id";
// Skips the newest keep_at_least terminal runs (LIMIT -1: no limit), then
// deletes those of the rest that finished too long ago. The state list must
// match is_terminal().
constexpr std::string_view kPrune =
    "DELETE FROM runs WHERE finished_ms < ?1 AND id IN ("
    " SELECT id FROM runs WHERE state IN ('completed', 'failed', 'cancelled')"
    " ORDER BY finished_ms DESC, id DESC LIMIT -1 OFFSET ?2)";

RunState state_from_db(sqlite3* db, std::string_view run_id, const std::string& name) {
  const auto state = parse_run_state(name);
  if (!state) {
    throw StateError("run " + std::string(run_id) + " in " + sqlite::db_file(db) +
                     " has an unknown state \"" + name + "\" (written by a newer agent?)");
  }
  return *state;
}

// A row as stored: the record, with its secrets still sealed.
struct StoredRun {
  RunRecord record;
  std::string sealed_url;
  std::string sealed_dek;
};

StoredRun read_run(sqlite3* db, const sqlite::Statement& stmt) {
  StoredRun row;
  RunRecord& r = row.record;
  r.run_id = stmt.column_blob(0);
  r.job_id = stmt.column_blob(1);
  r.target_id = stmt.column_blob(2);
  r.state = state_from_db(db, r.run_id, stmt.column_blob(3));
  r.manual_trigger = stmt.column_int64(4) != 0;
  r.encryption_enabled = stmt.column_int64(5) != 0;
  r.reason = stmt.column_blob(6);
  r.created_ms = from_db(stmt.column_int64(7));
  r.updated_ms = from_db(stmt.column_int64(8));
  r.started_ms = from_db(stmt.column_int64(9));
  r.finished_ms = from_db(stmt.column_int64(10));
  row.sealed_url = stmt.column_blob(11);
  r.creds.expires_at_ms = from_db(stmt.column_int64(12));
  r.creds.final_s3_key = stmt.column_blob(13);
  row.sealed_dek = stmt.column_blob(14);
  if (!stmt.column_is_null(15)) {
    r.spool = SpoolResult{stmt.column_blob(15),           from_db(stmt.column_int64(16)),
                          from_db(stmt.column_int64(17)), stmt.column_blob(18),
                          stmt.column_blob(19),           stmt.column_blob(20)};
  }
  r.attempt = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
      stmt.column_int64(21), 1, std::numeric_limits<std::uint32_t>::max()));
  r.not_before_ms = from_db(stmt.column_int64(22));
  r.origin = stmt.column_blob(23) == "agent" ? RunOrigin::agent : RunOrigin::server;
  r.scheduled_for_ms = from_db(stmt.column_int64(24));
  r.catch_up = stmt.column_int64(25) != 0;
  const std::string wrapped = stmt.column_blob(26);
  r.wrapped_dek.assign(wrapped.begin(), wrapped.end());
  r.dek_kms_id = stmt.column_blob(27);
  return row;
}

std::vector<StoredRun> read_runs(sqlite3* db, sqlite::Statement& stmt) {
  std::vector<StoredRun> rows;
  while (stmt.step()) rows.push_back(read_run(db, stmt));
  return rows;
}

bool unseal_into(crypto::Bytes& out, const detail::SealingKey& key, std::string_view sealed,
                 std::string_view aad) {
  auto plain = detail::unseal(key, sealed, aad);
  if (!plain) return false;
  out.swap(*plain);  // the caller's WipeOnExit now covers the plaintext
  return true;
}

// Opens the secrets of a stored row. Done after the connection mutex is
// released: the crypto needs no database. Failure is not an error (another
// agent key, a damaged or moved blob): the record says so and carries none.
RunRecord open_secrets(StoredRun row, const detail::SealingKey& key) {
  RunRecord& record = row.record;
  crypto::Bytes url;
  crypto::Bytes dek;
  detail::WipeOnExit wipe_url(url);
  detail::WipeOnExit wipe_dek(dek);
  if (!unseal_into(url, key, row.sealed_url, aad_for(kUrlField, record.run_id)) ||
      !unseal_into(dek, key, row.sealed_dek, aad_for(kDekField, record.run_id))) {
    record.secrets_unreadable = true;
    return std::move(record);
  }
  record.creds.presigned_put_url.assign(url.begin(), url.end());
  record.encrypted_dek.swap(dek);
  return std::move(record);
}

std::vector<RunRecord> open_all(std::vector<StoredRun> rows, const detail::SealingKey& key) {
  std::vector<RunRecord> records;
  records.reserve(rows.size());
  for (auto& row : rows) records.push_back(open_secrets(std::move(row), key));
  return records;
}

std::optional<RunState> current_state(sqlite3* db, std::string_view run_id) {
  sqlite::Statement stmt(db, kState);
  stmt.bind_text(1, run_id);
  if (!stmt.step()) return std::nullopt;
  return state_from_db(db, run_id, stmt.column_blob(0));
}

void add_event(sqlite3* db, std::string_view run_id, RunState state, std::string_view reason,
               std::uint64_t now_ms) {
  sqlite::Statement(db, kAddEvent)
      .bind_text(1, run_id)
      .bind(2, to_db(now_ms))
      .bind_text(3, run_state_name(state))
      .bind_text(4, reason)
      .run();
}

// The state change itself; the caller has checked that it is allowed.
void move(sqlite3* db, std::string_view run_id, RunState to, std::string_view reason,
          std::uint64_t now_ms) {
  sqlite::Statement(db, kMove)
      .bind_text(1, run_state_name(to))
      .bind_text(2, reason)
      .bind(3, to_db(now_ms))
      .bind(4, to == RunState::running ? 1 : 0)
      .bind(5, is_terminal(to) ? 1 : 0)
      .bind_text(6, run_id)
      .run();
  add_event(db, run_id, to, reason, now_ms);
}

}  // namespace

RunJournal::RunJournal(StateDb& db, std::string_view agent_key)
    : db_(db), key_(detail::derive_sealing_key(agent_key, kSecretsInfo)) {}

RunJournal::~RunJournal() {
  crypto::secure_wipe(key_);
}

bool RunJournal::insert(const RunRecord& record, std::uint64_t now_ms) {
  // Sealed before taking the connection mutex; only ciphertext reaches SQLite.
  const std::string sealed_url = detail::seal(
      key_, crypto::as_bytes(record.creds.presigned_put_url), aad_for(kUrlField, record.run_id));
  const std::string sealed_dek =
      detail::seal(key_, record.encrypted_dek, aad_for(kDekField, record.run_id));
  const std::uint64_t started_ms = record.state == RunState::running ? now_ms : 0;
  const std::uint64_t finished_ms = is_terminal(record.state) ? now_ms : 0;
  bool inserted = false;
  db_.transaction([&](sqlite3* db) {
    sqlite::Statement stmt(db, kInsert);
    stmt.bind_text(1, record.run_id)
        .bind_text(2, record.job_id)
        .bind_text(3, record.target_id)
        .bind_text(4, run_state_name(record.state))
        .bind(5, record.manual_trigger ? 1 : 0)
        .bind(6, record.encryption_enabled ? 1 : 0)
        .bind_text(7, record.reason)
        .bind(8, to_db(now_ms))
        .bind(9, to_db(started_ms))
        .bind(10, to_db(finished_ms))
        .bind_blob(11, sealed_url)
        .bind(12, to_db(record.creds.expires_at_ms))
        .bind_text(13, record.creds.final_s3_key)
        .bind_blob(14, sealed_dek);
    if (record.spool) {  // unbound parameters are NULL: no spool result
      stmt.bind_text(15, record.spool->spool_file)
          .bind(16, to_db(record.spool->raw_bytes))
          .bind(17, to_db(record.spool->stored_bytes))
          .bind_text(18, record.spool->sha256_hex)
          .bind_text(19, record.spool->compression)
          .bind_text(20, record.spool->db_engine_version);
    }
    stmt.bind(21, static_cast<std::int64_t>(std::max<std::uint32_t>(1, record.attempt)))
        .bind(22, to_db(record.not_before_ms))
        .bind_text(23, run_origin_name(record.origin))
        .bind(24, to_db(record.scheduled_for_ms))
        .bind(25, record.catch_up ? 1 : 0)
        .bind_blob(26, std::string(record.wrapped_dek.begin(), record.wrapped_dek.end()))
        .bind_text(27, record.dek_kms_id);
    stmt.run();
    inserted = sqlite3_changes(db) == 1;  // 0: ON CONFLICT kept the known run
    if (inserted) add_event(db, record.run_id, record.state, record.reason, now_ms);
  });
  return inserted;
}

std::optional<RunRecord> RunJournal::get(std::string_view run_id) {
  std::optional<StoredRun> row;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, "SELECT " + std::string(kColumns) + " FROM runs WHERE run_id = ?1");
    stmt.bind_text(1, run_id);
    if (stmt.step()) row = read_run(db, stmt);
  });
  if (!row) return std::nullopt;
  return open_secrets(std::move(*row), key_);
}

bool RunJournal::transition(std::string_view run_id, RunState to, std::string_view reason,
                            std::uint64_t now_ms) {
  bool moved = false;
  db_.transaction([&](sqlite3* db) {
    const auto from = current_state(db, run_id);
    if (!from || !transition_allowed(*from, to)) return;
    move(db, run_id, to, reason, now_ms);
    moved = true;
  });
  return moved;
}

bool RunJournal::mark_spooled(std::string_view run_id, const SpoolResult& result,
                              std::uint64_t now_ms) {
  bool moved = false;
  db_.transaction([&](sqlite3* db) {
    // Only from running: uploading → spooled keeps the result it already has.
    if (current_state(db, run_id) != RunState::running) return;
    move(db, run_id, RunState::spooled, {}, now_ms);
    sqlite::Statement(db, kSetSpool)
        .bind_text(1, result.spool_file)
        .bind(2, to_db(result.raw_bytes))
        .bind(3, to_db(result.stored_bytes))
        .bind_text(4, result.sha256_hex)
        .bind_text(5, result.compression)
        .bind_text(6, result.db_engine_version)
        .bind_text(7, run_id)
        .run();
    moved = true;
  });
  return moved;
}

bool RunJournal::schedule_retry(std::string_view run_id, RunState to, std::uint32_t attempt,
                                std::uint64_t not_before_ms, std::string_view reason,
                                std::uint64_t now_ms) {
  if (to != RunState::queued && to != RunState::spooled) return false;
  bool moved = false;
  db_.transaction([&](sqlite3* db) {
    const auto from = current_state(db, run_id);
    if (!from) return;
    const bool again = *from == RunState::spooled && to == RunState::spooled;
    if (!again && !transition_allowed(*from, to)) return;
    move(db, run_id, to, reason, now_ms);
    sqlite::Statement(db, kRetry)
        .bind(1, static_cast<std::int64_t>(std::max<std::uint32_t>(1, attempt)))
        .bind(2, to_db(not_before_ms))
        .bind_text(3, run_id)
        .run();
    if (to == RunState::queued) sqlite::Statement(db, kClearSpool).bind_text(1, run_id).run();
    moved = true;
  });
  return moved;
}

bool RunJournal::wipe_dek(std::string_view run_id) {
  const std::string sealed_empty = detail::seal(key_, crypto::Bytes{}, aad_for(kDekField, run_id));
  bool updated = false;
  db_.transaction([&](sqlite3* db) {
    sqlite::Statement(db, kSetDek).bind_blob(1, sealed_empty).bind_text(2, run_id).run();
    updated = sqlite3_changes(db) == 1;
  });
  return updated;
}

bool RunJournal::update_creds(std::string_view run_id, const UploadCreds& creds,
                              std::uint64_t now_ms) {
  // The DEK has its own blob, so it stays as it is (even if it is unreadable).
  const std::string sealed_url =
      detail::seal(key_, crypto::as_bytes(creds.presigned_put_url), aad_for(kUrlField, run_id));
  bool updated = false;
  db_.transaction([&](sqlite3* db) {
    const auto state = current_state(db, run_id);
    if (!state || is_terminal(*state)) return;
    sqlite::Statement(db, kSetCreds)
        .bind_blob(1, sealed_url)
        .bind(2, to_db(creds.expires_at_ms))
        .bind_text(3, creds.final_s3_key)
        .bind(4, to_db(now_ms))
        .bind_text(5, run_id)
        .run();
    updated = true;
  });
  return updated;
}

std::vector<RunRecord> RunJournal::in_states(const std::vector<RunState>& states) {
  if (states.empty()) return {};
  std::string sql = "SELECT " + std::string(kColumns) + " FROM runs WHERE state IN (";
  for (std::size_t i = 0; i < states.size(); ++i) sql += i == 0 ? "?" : ", ?";
  sql += ") ORDER BY created_ms, id";
  std::vector<StoredRun> rows;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, sql);
    for (std::size_t i = 0; i < states.size(); ++i) {
      stmt.bind_text(static_cast<int>(i + 1), run_state_name(states[i]));
    }
    rows = read_runs(db, stmt);
  });
  return open_all(std::move(rows), key_);
}

std::vector<RunEvent> RunJournal::events(std::string_view run_id) {
  std::vector<RunEvent> events;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, kEvents);
    stmt.bind_text(1, run_id);
    while (stmt.step()) {
      events.push_back(RunEvent{from_db(stmt.column_int64(0)),
                                state_from_db(db, run_id, stmt.column_blob(1)),
                                stmt.column_blob(2)});
    }
  });
  return events;
}

std::vector<RunRecord> RunJournal::recent(std::size_t limit) {
  if (limit == 0) return {};  // LIMIT 0 would do, but skip the lock
  std::vector<StoredRun> rows;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, "SELECT " + std::string(kColumns) +
                                   " FROM runs ORDER BY created_ms DESC, id DESC " + "LIMIT ?1");
    stmt.bind(1, to_db(limit));
    rows = read_runs(db, stmt);
  });
  return open_all(std::move(rows), key_);
}

std::size_t RunJournal::prune(std::uint64_t older_than_ms, std::size_t keep_at_least) {
  std::size_t deleted = 0;
  db_.transaction([&](sqlite3* db) {
    sqlite::Statement(db, kPrune).bind(1, to_db(older_than_ms)).bind(2, to_db(keep_at_least)).run();
    // Counts runs only: the cascaded run_events rows are not included.
    deleted = static_cast<std::size_t>(sqlite3_changes(db));
  });
  return deleted;
}

}  // namespace backupy::state
