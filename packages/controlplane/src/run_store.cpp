#include "run_store.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "backupy/core/hex.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "catalog.hpp"
#include "cp_metrics.hpp"

namespace backupy::controlplane::detail {

std::string_view to_string(RunStatus status) {
  switch (status) {
    case RunStatus::queued: return "queued";
    case RunStatus::running: return "running";
    case RunStatus::success: return "success";
    case RunStatus::failed: return "failed";
    case RunStatus::cancelled: return "cancelled";
  }
  return "queued";
}

bool is_finished(RunStatus status) {
  return status == RunStatus::success || status == RunStatus::failed ||
         status == RunStatus::cancelled;
}

std::string_view to_string(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::manual: return "manual";
    case RunTrigger::scheduled: return "scheduled";
    case RunTrigger::agent: return "agent";
  }
  return "manual";
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
  for (const RunStatus status : {RunStatus::queued, RunStatus::running, RunStatus::success,
                                 RunStatus::failed, RunStatus::cancelled}) {
    const std::string_view name = to_string(status);
    const bool equal =
        std::equal(name.begin(), name.end(), text.begin(), text.end(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
    if (equal) return status;
  }
  return std::nullopt;
}

RunKey::RunKey() {
  crypto::Bytes random = crypto::random_bytes(kSize);
  std::copy(random.begin(), random.end(), bytes_.begin());
  crypto::secure_wipe(random);
}

RunKey::~RunKey() {
  crypto::secure_wipe(bytes_);
}

void RunKey::assign(std::span<const std::uint8_t, kSize> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

// The fields a change may touch: what persist() restores when the catalog refuses a change,
// so that memory never shows what the catalog does not hold.
struct RunStore::Fields {
  RunStatus status;
  std::uint64_t sent_ms;
  std::uint64_t finished_ms;
  std::string current_step;
  std::uint32_t progress_percent;
  std::string error;
  bool completed;
  std::uint64_t size_bytes;
  std::string sha256;
  std::string compression;
  std::string db_engine_version;
  std::uint64_t updates;

  static Fields of(const RunRecord& run) {
    return {run.status,           run.sent_ms,     run.finished_ms,       run.current_step,
            run.progress_percent, run.error,       run.completed,         run.size_bytes,
            run.sha256,           run.compression, run.db_engine_version, run.updates};
  }
  void restore(RunRecord& run) const {
    run.status = status;
    run.sent_ms = sent_ms;
    run.finished_ms = finished_ms;
    run.current_step = current_step;
    run.progress_percent = progress_percent;
    run.error = error;
    run.completed = completed;
    run.size_bytes = size_bytes;
    run.sha256 = sha256;
    run.compression = compression;
    run.db_engine_version = db_engine_version;
    run.updates = updates;
  }
};

RunStore::RunStore(Catalog* catalog, CpMetrics* metrics) : catalog_(catalog), metrics_(metrics) {
  if (catalog_ == nullptr) return;  // in memory
  catalog_->load_runs([this](const std::string& run_id) -> RunRecord& {
    return runs_.try_emplace(run_id).first->second;
  });
  for (const auto& [id, run] : runs_) last_sequence_ = std::max(last_sequence_, run.sequence);
  catalog_->load_idempotency_keys([this](std::string key, std::string run_id) {
    idempotency_keys_.insert_or_assign(std::move(key), std::move(run_id));
  });
}

void RunStore::persist(RunRecord& run, const Fields& before, const CatalogJobUpdate* update) {
  if (catalog_ == nullptr) return;
  try {
    catalog_->update_run(run, update);
  } catch (...) {
    before.restore(run);
    throw;
  }
}

RunRecord& RunStore::create(const std::string& job_id, const std::string& agent_id,
                            RunTrigger trigger) {
  std::string run_id;
  do {
    run_id = "run-" + core::to_hex(crypto::random_bytes(8));
  } while (runs_.contains(run_id));
  const auto it = emplace(run_id, job_id, agent_id, trigger);
  insert(it);
  return it->second;
}

std::map<std::string, RunRecord, std::less<>>::iterator RunStore::emplace(
    const std::string& run_id, const std::string& job_id, const std::string& agent_id,
    RunTrigger trigger) {
  auto [it, inserted] = runs_.try_emplace(run_id);
  if (!inserted) throw std::logic_error("RunStore: run " + run_id + " exists");
  RunRecord& run = it->second;
  run.run_id = run_id;
  run.job_id = job_id;
  run.agent_id = agent_id;
  run.s3_key = "agents/" + agent_id + "/" + job_id + "/" + run_id + ".bkpy";
  run.created_ms = core::now_ms();
  run.sequence = ++last_sequence_;
  run.trigger = trigger;
  return it;
}

void RunStore::insert(std::map<std::string, RunRecord, std::less<>>::iterator it) {
  if (catalog_ != nullptr) {
    try {
      catalog_->insert_run(it->second);
    } catch (...) {
      runs_.erase(it);
      throw;
    }
  }
  if (metrics_ != nullptr) metrics_->run_created(it->second.trigger);
}

RunRecord& RunStore::adopt(const std::string& run_id, const std::string& job_id,
                           const std::string& agent_id, bool catch_up,
                           std::uint64_t scheduled_for_ms) {
  const auto it = emplace(run_id, job_id, agent_id, RunTrigger::agent);
  RunRecord& run = it->second;
  run.dek_known = false;
  run.catch_up = catch_up;
  run.scheduled_for_ms = scheduled_for_ms;
  insert(it);
  return run;
}

void RunStore::set_dek(RunRecord& run, std::span<const std::uint8_t, RunKey::kSize> dek,
                       std::string kms_id) {
  RunKey before;
  before.assign(run.dek.bytes());
  const bool known_before = run.dek_known;
  std::string kms_before = run.dek_kms_id;
  run.dek.assign(dek);
  run.dek_known = true;
  run.dek_kms_id = std::move(kms_id);
  if (catalog_ == nullptr) return;
  try {
    catalog_->update_run_dek(run);
  } catch (...) {
    run.dek.assign(before.bytes());
    run.dek_known = known_before;
    run.dek_kms_id = std::move(kms_before);
    throw;
  }
}

const RunRecord* RunStore::active_run(std::string_view job_id) const {
  const RunRecord* newest = nullptr;
  for (const auto& [id, run] : runs_) {
    if (run.job_id != job_id || is_finished(run.status)) continue;
    if (newest == nullptr || run.sequence > newest->sequence) newest = &run;
  }
  return newest;
}

std::vector<RunRecord*> RunStore::undelivered(std::string_view agent_id) {
  std::vector<RunRecord*> out;
  for (auto& [id, run] : runs_) {
    if (run.agent_id == agent_id && run.sent_ms == 0 && !is_finished(run.status)) {
      out.push_back(&run);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RunRecord* a, const RunRecord* b) { return a->sequence < b->sequence; });
  return out;
}

void RunStore::mark_sent(RunRecord& run, std::uint64_t now_ms) {
  const Fields before = Fields::of(run);
  run.sent_ms = now_ms;
  if (run.trigger == RunTrigger::agent) return persist(run, before, nullptr);
  run.status = RunStatus::queued;
  run.finished_ms = 0;
  run.progress_percent = 0;
  run.current_step.clear();
  run.error.clear();
  // A resent run uploads anew: whatever an earlier attempt reported is void.
  run.completed = false;
  run.size_bytes = 0;
  run.sha256.clear();
  run.compression.clear();
  run.db_engine_version.clear();
  persist(run, before, nullptr);
}

void RunStore::confirm_object(RunRecord& run, const std::string& problem, std::uint64_t now_ms) {
  if (!run.completed || is_finished(run.status)) return;
  const Fields before = Fields::of(run);
  run.status = problem.empty() ? RunStatus::success : RunStatus::failed;
  run.error = problem;
  run.current_step = problem.empty() ? "completed" : "verifying the stored object failed";
  run.finished_ms = now_ms;
  record(run, before, "object_check");
  note_finish(run);
}

std::vector<RunRecord*> RunStore::awaiting_verification() {
  std::vector<RunRecord*> out;
  for (auto& [id, run] : runs_) {
    if (run.completed && !is_finished(run.status)) out.push_back(&run);
  }
  return out;
}

void RunStore::fail(RunRecord& run, std::string reason, std::uint64_t now_ms) {
  end(run, RunStatus::failed, std::move(reason), now_ms);
}

void RunStore::withdraw(RunRecord& run, std::string reason, std::uint64_t now_ms) {
  if (run.sent_ms == 0) end(run, RunStatus::cancelled, std::move(reason), now_ms);
}

void RunStore::end(RunRecord& run, RunStatus status, std::string reason, std::uint64_t now_ms) {
  if (is_finished(run.status)) return;
  const Fields before = Fields::of(run);
  run.status = status;
  run.error = std::move(reason);
  run.finished_ms = now_ms;
  persist(run, before, nullptr);
  note_finish(run);
}

std::vector<const RunRecord*> RunStore::list(const RunFilter& filter) const {
  std::vector<const RunRecord*> out;
  for (const auto& [id, run] : runs_) {
    if (filter.agent_id && run.agent_id != *filter.agent_id) continue;
    if (filter.job_id && run.job_id != *filter.job_id) continue;
    if (filter.status && run.status != *filter.status) continue;
    out.push_back(&run);
  }
  // Creation order, not the wall clock: it cannot go backwards.
  std::sort(out.begin(), out.end(),
            [](const RunRecord* a, const RunRecord* b) { return a->sequence > b->sequence; });
  if (out.size() > filter.limit) out.resize(filter.limit);
  return out;
}

void RunStore::erase(std::string_view run_id) {
  if (catalog_ != nullptr) catalog_->erase_run(run_id);  // first: a failure changes nothing
  if (const auto it = runs_.find(run_id); it != runs_.end()) runs_.erase(it);
  std::erase_if(idempotency_keys_, [&](const auto& entry) { return entry.second == run_id; });
}

RunRecord* RunStore::find(std::string_view run_id) {
  const auto it = runs_.find(run_id);
  return it == runs_.end() ? nullptr : &it->second;
}

RunRecord* RunStore::find_by_idempotency_key(std::string_view key) {
  const auto it = idempotency_keys_.find(key);
  return it == idempotency_keys_.end() ? nullptr : find(it->second);
}

void RunStore::remember_idempotency_key(std::string key, std::string run_id) {
  if (catalog_ != nullptr) catalog_->insert_idempotency_key(key, run_id);
  idempotency_keys_.insert_or_assign(std::move(key), std::move(run_id));
}

RunRecord* RunStore::owned_by(std::string_view agent_id, std::string_view run_id) {
  RunRecord* run = find(run_id);
  return run != nullptr && run->agent_id == agent_id ? run : nullptr;
}

void RunStore::note_finish(const RunRecord& run) {
  if (metrics_ != nullptr && is_finished(run.status)) metrics_->run_finished(run.status);
}

void RunStore::record(RunRecord& run, const Fields& before, std::string_view kind) {
  if (catalog_ == nullptr) return;
  const CatalogJobUpdate row{
      std::string(kind),    core::now_ms(),   std::string(to_string(run.status)),
      run.progress_percent, run.current_step, run.error};
  persist(run, before, &row);
}

RunRecord* RunStore::apply(std::string_view agent_id, const backup::v1::JobUpdate& update) {
  RunRecord* run = owned_by(agent_id, update.run_id());
  // After BackupCompleted only the object check decides; a late or replayed update is noise.
  if (run == nullptr || run->completed || is_finished(run->status)) return nullptr;
  const Fields before = Fields::of(*run);
  switch (update.status()) {
    case backup::v1::QUEUED: run->status = RunStatus::queued; break;
    case backup::v1::RUNNING: run->status = RunStatus::running; break;
    case backup::v1::SUCCESS: run->status = RunStatus::running; break;  // see confirm_object()
    case backup::v1::FAILED: run->status = RunStatus::failed; break;
    case backup::v1::CANCELLED: run->status = RunStatus::cancelled; break;
    default: break;  // unspecified: a progress report without a status change
  }
  run->progress_percent = update.progress_percent();
  run->current_step = update.current_step();
  run->error = update.error_message();
  if (update.status() == backup::v1::SUCCESS) run->current_step = kVerifyingStep;
  if (is_finished(run->status)) run->finished_ms = core::now_ms();
  ++run->updates;
  record(*run, before, "job_update");
  note_finish(*run);
  return run;
}

RunRecord* RunStore::apply(std::string_view agent_id,
                           const backup::v1::BackupCompleted& completed) {
  RunRecord* run = owned_by(agent_id, completed.run_id());
  if (run == nullptr || run->completed || is_finished(run->status)) return nullptr;
  const Fields before = Fields::of(*run);
  run->status = RunStatus::running;
  run->current_step = kVerifyingStep;
  run->progress_percent = 100;
  run->error.clear();
  run->completed = true;
  run->size_bytes = completed.size_bytes();
  run->sha256 = completed.sha256();
  run->compression = completed.compression();
  run->db_engine_version = completed.db_engine_version();
  ++run->updates;
  record(*run, before, "backup_completed");
  return run;
}

}  // namespace backupy::controlplane::detail
