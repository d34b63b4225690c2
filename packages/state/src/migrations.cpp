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

constexpr std::array<std::string_view, 1> kMigrations = {kV1};

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

}  // namespace backupy::state::detail
