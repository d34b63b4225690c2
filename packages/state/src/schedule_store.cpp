#include "backupy/state/schedule_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <set>

#include "backupy/sqlite/statement.hpp"

namespace backupy::state {
namespace {
constexpr std::string_view kAgentCronKey = "agent_cron";
}  // namespace

bool ScheduleStore::agent_scheduling() {
  bool enabled = false;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, "SELECT value FROM meta WHERE key = ?1");
    stmt.bind_text(1, kAgentCronKey);
    enabled = stmt.step() && stmt.column_blob(0) == "1";
  });
  return enabled;
}

void ScheduleStore::set_agent_scheduling(bool enabled) {
  db_.transaction([&](sqlite3* db) {
    sqlite::Statement(db,
                      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind_text(1, kAgentCronKey)
        .bind_text(2, enabled ? "1" : "0")
        .run();
  });
}

std::optional<std::chrono::sys_seconds> ScheduleStore::last_fire(std::string_view job_id) {
  std::optional<std::chrono::sys_seconds> last;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(db, "SELECT last_fire_s FROM schedule_state WHERE job_id = ?1");
    stmt.bind_text(1, job_id);
    if (stmt.step()) last = std::chrono::sys_seconds{std::chrono::seconds{stmt.column_int64(0)}};
  });
  return last;
}

void ScheduleStore::set_last_fire(std::string_view job_id, std::chrono::sys_seconds instant) {
  db_.transaction([&](sqlite3* db) {
    sqlite::Statement(db,
                      "INSERT INTO schedule_state (job_id, last_fire_s) VALUES (?1, ?2) "
                      "ON CONFLICT (job_id) DO UPDATE SET last_fire_s = excluded.last_fire_s")
        .bind_text(1, job_id)
        .bind(2, static_cast<std::int64_t>(instant.time_since_epoch().count()))
        .run();
  });
}

void ScheduleStore::retain_jobs(const std::vector<std::string>& job_ids) {
  const std::set<std::string, std::less<>> keep(job_ids.begin(), job_ids.end());
  db_.transaction([&](sqlite3* db) {
    std::vector<std::string> gone;
    {
      sqlite::Statement all(db, "SELECT job_id FROM schedule_state");
      while (all.step()) {
        std::string job_id = all.column_blob(0);
        if (!keep.contains(job_id)) gone.push_back(std::move(job_id));
      }
    }
    sqlite::Statement remove(db, "DELETE FROM schedule_state WHERE job_id = ?1");
    for (const std::string& job_id : gone) {
      remove.bind_text(1, job_id).run();
      remove.reset();
    }
  });
}

}  // namespace backupy::state
