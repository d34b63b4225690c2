#include "backupy/state/outbox.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>

#include "backupy/core/time.hpp"
#include "backupy/sqlite/statement.hpp"

namespace backupy::state {
namespace {

// seq values are SQLite rowids (positive int64); clamp caller-supplied bounds
// so a huge uint64 still means "everything" rather than wrapping negative.
std::int64_t to_rowid(std::uint64_t seq) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(seq, kMax));
}

constexpr std::string_view kInsert =
    "INSERT INTO outbox (cls, payload, created_ms) VALUES (?1, ?2, ?3)";
// Deletes the oldest entries of class ?1 beyond the bound ?2. max(0, ...)
// matters: a negative LIMIT means "no limit" in SQLite.
constexpr std::string_view kTrim =
    "DELETE FROM outbox WHERE seq IN ("
    " SELECT seq FROM outbox WHERE cls = ?1 ORDER BY seq LIMIT max(0,"
    "  coalesce((SELECT n FROM outbox_class_count WHERE cls = ?1), 0) - ?2))";
constexpr std::string_view kReadAfter =
    "SELECT seq, cls, payload, created_ms FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2";
constexpr std::string_view kRemoveThrough = "DELETE FROM outbox WHERE seq <= ?1";
constexpr std::string_view kRemoveOne = "DELETE FROM outbox WHERE seq = ?1";
// The trigger-maintained counts: no scan of the outbox itself.
constexpr std::string_view kDepth = "SELECT coalesce(sum(n), 0) FROM outbox_class_count";
// AUTOINCREMENT keeps its high-water mark here, even once the table is empty.
constexpr std::string_view kLastSeq = "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'";

}  // namespace

struct Outbox::Statements {
  std::optional<sqlite::Statement> insert, trim, read_after, remove_through, remove_one, depth,
      last_seq;

  // The cached statement, prepared on first use. Call with the mutex held.
  static sqlite::Statement& get(std::optional<sqlite::Statement>& slot, sqlite3* db,
                                std::string_view sql) {
    if (!slot) slot.emplace(db, sql);
    return *slot;
  }
};

Outbox::Outbox(StateDb& db, OutboxLimits limits)
    : db_(db), limits_(limits), stmts_(std::make_unique<Statements>()) {}

Outbox::~Outbox() = default;

std::size_t Outbox::limit_for(OutboxClass cls) const {
  switch (cls) {
    case OutboxClass::terminal: return 0;  // never dropped
    case OutboxClass::progress: return limits_.progress;
    case OutboxClass::health: return limits_.health;
    case OutboxClass::discovery: return limits_.discovery;
    case OutboxClass::log: return limits_.log;
  }
  return 0;
}

std::uint64_t Outbox::append(OutboxClass cls, std::string payload) {
  const std::size_t limit = limit_for(cls);
  std::uint64_t seq = 0;
  std::uint64_t dropped = 0;
  db_.transaction([&](sqlite3* db) {
    auto& insert = Statements::get(stmts_->insert, db, kInsert);
    sqlite::ScopedReset reset_insert(insert);
    insert.bind(1, static_cast<int>(cls))
        .bind_blob(2, payload)
        .bind(3, static_cast<std::int64_t>(core::now_ms()))
        .run();
    seq = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db));
    if (limit == 0) return;
    // The bound applies in the same transaction as the insert.
    auto& trim = Statements::get(stmts_->trim, db, kTrim);
    sqlite::ScopedReset reset_trim(trim);
    trim.bind(1, static_cast<int>(cls)).bind(2, static_cast<std::int64_t>(limit)).run();
    dropped = static_cast<std::uint64_t>(sqlite3_changes(db));  // excludes trigger rows
  });
  // Counted only after COMMIT: a rolled-back append dropped nothing.
  dropped_.fetch_add(dropped, std::memory_order_relaxed);
  return seq;
}

std::vector<OutboxEntry> Outbox::read_after(std::uint64_t after_seq, std::size_t limit) {
  std::vector<OutboxEntry> entries;
  if (limit == 0) return entries;
  const auto max_rows = static_cast<std::int64_t>(
      std::min<std::uint64_t>(limit, std::numeric_limits<std::int64_t>::max()));
  db_.with_connection([&](sqlite3* db) {
    auto& select = Statements::get(stmts_->read_after, db, kReadAfter);
    sqlite::ScopedReset reset(select);
    select.bind(1, to_rowid(after_seq)).bind(2, max_rows);
    entries.reserve(std::min<std::size_t>(limit, 1024));
    while (select.step()) {
      OutboxEntry& entry = entries.emplace_back();
      entry.seq = static_cast<std::uint64_t>(select.column_int64(0));
      entry.cls = static_cast<OutboxClass>(select.column_int64(1));
      entry.payload = select.column_blob(2);
      entry.created_ms = static_cast<std::uint64_t>(select.column_int64(3));
    }
  });
  return entries;
}

void Outbox::remove_through(std::uint64_t through_seq) {
  db_.transaction([&](sqlite3* db) {
    auto& remove = Statements::get(stmts_->remove_through, db, kRemoveThrough);
    sqlite::ScopedReset reset(remove);
    remove.bind(1, to_rowid(through_seq)).run();
  });
}

void Outbox::remove(std::uint64_t seq) {
  db_.transaction([&](sqlite3* db) {
    auto& remove = Statements::get(stmts_->remove_one, db, kRemoveOne);
    sqlite::ScopedReset reset(remove);
    remove.bind(1, to_rowid(seq)).run();
  });
}

std::size_t Outbox::depth() {
  std::size_t depth = 0;
  db_.with_connection([&](sqlite3* db) {
    auto& select = Statements::get(stmts_->depth, db, kDepth);
    sqlite::ScopedReset reset(select);
    if (select.step()) depth = static_cast<std::size_t>(select.column_int64(0));
  });
  return depth;
}

std::uint64_t Outbox::last_seq() {
  std::uint64_t seq = 0;
  db_.with_connection([&](sqlite3* db) {
    auto& select = Statements::get(stmts_->last_seq, db, kLastSeq);
    sqlite::ScopedReset reset(select);
    if (select.step()) seq = static_cast<std::uint64_t>(select.column_int64(0));
  });
  return seq;
}

std::uint64_t Outbox::dropped_total() const {
  return dropped_.load(std::memory_order_relaxed);
}

}  // namespace backupy::state
