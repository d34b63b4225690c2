#pragma once
// Durable FIFO of agent->server results (at-least-once delivery).
//
// Every entry gets a persistent, strictly increasing sequence number
// (SQLite AUTOINCREMENT: never reused, even after deletes and restarts). The
// session reads entries in order, sends them, and removes them once written
// (v1 servers) or once acknowledged (servers with "delivery_ack.v1").
//
// Drop policy (documented in docs/protocol.md): each class has a bound; when a
// class is full its *oldest* entry is dropped and counted. `terminal` results
// (final JobUpdate, BackupCompleted) have no bound and are never dropped.
// `discovery` keeps only the newest report (a newer one supersedes the rest).
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backupy/state/state_db.hpp"

namespace backupy::state {

enum class OutboxClass : int {
  terminal = 0,   // BackupCompleted, final or retry JobUpdate, RestoreUpdate: never dropped
  progress = 1,   // non-final JobUpdate
  health = 2,     // HealthCheckResult
  discovery = 3,  // DiscoveryReport (latest only)
  log = 4,        // LogEvent
};

struct OutboxLimits {
  std::size_t progress = 10000;
  std::size_t health = 10000;
  std::size_t discovery = 1;
  std::size_t log = 2000;
};

struct OutboxEntry {
  std::uint64_t seq = 0;
  OutboxClass cls = OutboxClass::terminal;
  std::string payload;  // serialized backup.v1.Envelope
  std::uint64_t created_ms = 0;
};

class Outbox {
 public:
  explicit Outbox(StateDb& db, OutboxLimits limits = {});
  ~Outbox();  // finalizes the cached statements; destroy before the StateDb
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Appends and returns the new seq; applies the class bound. Thread-safe.
  std::uint64_t append(OutboxClass cls, std::string payload);
  // Up to limit entries with seq > after_seq, in seq order.
  std::vector<OutboxEntry> read_after(std::uint64_t after_seq, std::size_t limit);
  // Removes every entry with seq <= through_seq (cumulative acknowledgement).
  void remove_through(std::uint64_t through_seq);
  // Removes one entry (written to a v1 server).
  void remove(std::uint64_t seq);

  std::size_t depth();
  std::uint64_t last_seq();  // highest seq ever assigned (0 if none)
  // Entries dropped by the bounds since this process opened the outbox.
  std::uint64_t dropped_total() const;

 private:
  std::size_t limit_for(OutboxClass cls) const;  // 0 = unbounded

  // Prepared once per Outbox (so per connection) and reused: preparing, and
  // coding the count triggers into every statement, dominated append's cost.
  struct Statements;

  StateDb& db_;
  OutboxLimits limits_;
  std::unique_ptr<Statements> stmts_;  // touched only under the connection mutex
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace backupy::state
