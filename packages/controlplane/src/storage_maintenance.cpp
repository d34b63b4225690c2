#include "storage_maintenance.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>

#include "backupy/core/time.hpp"
#include "server_state.hpp"

namespace backupy::controlplane::detail {
namespace {

// What the background thread found out about one object.
struct CheckOutcome {
  std::string problem;      // the run fails with this; empty = the object is as reported
  std::string unavailable;  // the storage could not answer: check again later
};

CheckOutcome check_object(const ObjectStore& store, const std::string& key,
                          std::uint64_t reported) {
  CheckOutcome outcome;
  try {
    const std::optional<std::uint64_t> size = store.stat(key);
    if (!size) {
      outcome.problem = "the stored object " + key + " does not exist";
    } else if (*size != reported) {
      outcome.problem = "the stored object " + key + " is " + std::to_string(*size) +
                        " bytes, the agent reported " + std::to_string(reported);
    }
  } catch (const std::exception& e) {
    outcome.unavailable = e.what();
  }
  return outcome;
}

}  // namespace

void verify_stored_object(ServerState& state, const RunRecord& run) {
  if (!state.object_checks_in_flight.insert(run.run_id).second) return;
  std::shared_ptr<const ObjectStore> store = state.object_store(*state.config);
  auto outcome = std::make_shared<CheckOutcome>();
  if (!store) outcome->unavailable = "storage is not configured";
  state.background->submit(
      [store, outcome, key = run.s3_key, reported = run.size_bytes] {
        if (store) *outcome = check_object(*store, key, reported);
      },
      [&state, outcome, run_id = run.run_id] {
        state.object_checks_in_flight.erase(run_id);
        RunRecord* run = state.runs.find(run_id);
        if (run == nullptr) return;  // erased meanwhile
        if (!outcome->unavailable.empty()) {
          state.log.warn("object_check_deferred", {{"event", "object_check_deferred"},
                                                   {"run_id", run_id},
                                                   {"error", outcome->unavailable}});
          return;
        }
        state.runs.confirm_object(*run, outcome->problem, core::now_ms());
        const bool ok = outcome->problem.empty();
        state.log.log(ok ? core::LogLevel::info : core::LogLevel::error, "object_checked",
                      {{"event", "object_checked"},
                       {"run_id", run_id},
                       {"job_id", run->job_id},
                       {"agent_id", run->agent_id},
                       {"size_bytes", run->size_bytes},
                       {"status", to_string(run->status)},
                       {"error", outcome->problem}});
      });
}

void resume_object_checks(ServerState& state) {
  for (const RunRecord* run : state.runs.awaiting_verification()) verify_stored_object(state, *run);
}

std::vector<const RunRecord*> expired_runs(RunStore& runs, const ServerConfig& config,
                                           std::uint64_t now_ms) {
  std::vector<const RunRecord*> out;
  for (const AgentEntry& agent : config.agents) {
    for (const backup::v1::BackupJobSpec& job : agent.config.jobs()) {
      if (job.retention_days() == 0) continue;
      const std::uint64_t keep_for = job.retention_days() * kMsPerDay;
      RunFilter filter;
      filter.agent_id = agent.id;
      filter.job_id = job.id();
      filter.limit = std::numeric_limits<std::size_t>::max();
      bool newest_success_seen = false;
      for (const RunRecord* run : runs.list(filter)) {  // newest first
        const bool newest_success = !newest_success_seen && run->status == RunStatus::success;
        newest_success_seen |= newest_success;
        if (newest_success || !is_finished(run->status)) continue;
        if (run->created_ms + keep_for <= now_ms) out.push_back(run);
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RunRecord* a, const RunRecord* b) { return a->sequence < b->sequence; });
  return out;
}

std::size_t sweep_retention(ServerState& state, std::uint64_t now_ms) {
  const std::vector<const RunRecord*> expired = expired_runs(state.runs, *state.config, now_ms);
  std::shared_ptr<const ObjectStore> store = state.object_store(*state.config);
  // run id -> object key; the background thread answers with the runs it could clean up.
  auto keys = std::make_shared<std::map<std::string, std::string>>();
  for (const RunRecord* run : expired) keys->emplace(run->run_id, run->s3_key);
  auto failures = std::make_shared<std::map<std::string, std::string>>();
  state.background->submit(
      [store, keys, failures] {
        for (const auto& [run_id, key] : *keys) {
          if (!store) {
            failures->emplace(run_id, "storage is not configured");
            continue;
          }
          try {
            store->remove(key);  // false (there was none) is fine: failed runs often have none
          } catch (const std::exception& e) {
            failures->emplace(run_id, e.what());
          }
        }
      },
      [&state, keys, failures] {
        std::size_t removed = 0;
        for (const auto& [run_id, key] : *keys) {
          const RunRecord* run = state.runs.find(run_id);
          if (run == nullptr || !is_finished(run->status)) continue;  // resent meanwhile
          if (const auto failed = failures->find(run_id); failed != failures->end()) {
            state.log.warn("retention_delete_failed", {{"event", "retention_delete_failed"},
                                                       {"run_id", run_id},
                                                       {"s3_key", key},
                                                       {"error", failed->second}});
            continue;
          }
          state.runs.erase(run_id);
          ++removed;
        }
        state.log.info("retention_sweep", {{"event", "retention_sweep"},
                                           {"expired", keys->size()},
                                           {"removed", removed},
                                           {"failed", failures->size()}});
      });
  return expired.size();
}

}  // namespace backupy::controlplane::detail
