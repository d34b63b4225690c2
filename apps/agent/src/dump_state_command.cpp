#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "backupy/core/build_info.hpp"
#include "backupy/core/files.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/state/config_store.hpp"
#include "backupy/state/outbox.hpp"
#include "backupy/state/run_journal.hpp"
#include "commands.hpp"
#include "status_file.hpp"

namespace backupy::agent {
namespace {

constexpr std::size_t kRunsShown = 20;

nlohmann::json config_to_json(backup::v1::AgentConfig config, bool allow_secrets) {
  if (!allow_secrets) {
    for (auto& target : *config.mutable_targets()) {
      auto* connection = target.mutable_connection();
      if (!connection->password_secret_ref().empty()) {
        connection->set_password_secret_ref(std::string(core::kRedacted));
      }
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(config, &text, options).ok()) {
    return nullptr;
  }
  return nlohmann::json::parse(text);
}

nlohmann::json bootstrap_to_json(const config::EnvLookup& env, bool allow_secrets) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* name :
       {"SERVER_URL", "STATE_DIR", "LOG_LEVEL", "DOCKER_SOCKET", "DEV_ALLOW_INSECURE",
        "METRICS_LISTEN_ADDR", "CA_FILE", "MAX_INBOUND_BYTES", "PEER_TIMEOUT_SEC", "HOOKS",
        "HOOK_TIMEOUT_SEC", "SPOOL_MAX_BYTES", "ZSTD_LEVEL", "ZSTD_WORKERS",
        "UPLOAD_MAX_ATTEMPTS"}) {
    if (auto value = config::lookup(env, name)) out[std::string("BACKUPY_") + name] = *value;
  }
  if (auto key = config::lookup(env, "AGENT_KEY")) {
    out["BACKUPY_AGENT_KEY"] = allow_secrets ? *key : std::string(core::kRedacted);
  }
  if (out.contains("BACKUPY_SERVER_URL") && !allow_secrets) {
    out["BACKUPY_SERVER_URL"] = core::redact(out["BACKUPY_SERVER_URL"].get<std::string>());
  }
  return out;
}

// The newest runs, without their upload URL or key (bearer credentials, even
// with --allow-secrets: nothing an operator needs to read).
nlohmann::json runs_to_json(state::RunJournal& journal) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& run : journal.recent(kRunsShown)) {
    nlohmann::json entry = {{"run_id", run.run_id},
                            {"job_id", run.job_id},
                            {"target_id", run.target_id},
                            {"state", std::string(state::run_state_name(run.state))},
                            {"reason", run.reason},
                            {"created_ms", run.created_ms},
                            {"started_ms", run.started_ms},
                            {"finished_ms", run.finished_ms},
                            {"s3_key", run.creds.final_s3_key},
                            {"upload_expires_at_ms", run.creds.expires_at_ms}};
    if (run.spool) {
      entry["spool"] = {{"file", run.spool->spool_file},
                        {"raw_bytes", run.spool->raw_bytes},
                        {"stored_bytes", run.spool->stored_bytes},
                        {"sha256", run.spool->sha256_hex},
                        {"compression", run.spool->compression},
                        {"db_engine_version", run.spool->db_engine_version}};
    }
    runs.push_back(std::move(entry));
  }
  return runs;
}

}  // namespace

int dump_state(const config::EnvLookup& env, bool allow_secrets) {
  const std::filesystem::path state_dir =
      config::lookup(env, "STATE_DIR").value_or(std::string(config::kDefaultStateDir));
  const std::string agent_key = config::lookup(env, "AGENT_KEY").value_or("");
  if (allow_secrets && agent_key.empty()) {
    std::cerr << "backupy-agent: dump-state --allow-secrets needs BACKUPY_AGENT_KEY to decrypt "
                 "the stored secrets\n";
    return 1;
  }

  nlohmann::json out = {{"agent_version", core::kVersion},
                        {"state_dir", state_dir.string()},
                        {"secrets", allow_secrets ? "included" : "redacted"},
                        {"bootstrap", bootstrap_to_json(env, allow_secrets)}};
  try {
    if (auto status = core::read_file(status_file_path(state_dir))) {
      out["status"] = nlohmann::json::parse(*status, nullptr, false);
    } else {
      out["status"] = nullptr;
    }
    const auto db_path = state_dir / "state.db";
    if (!std::filesystem::exists(db_path)) {
      out["config"] = nullptr;
      out["outbox"] = nullptr;
      out["runs"] = nlohmann::json::array();
    } else {
      auto db = state::StateDb::open(db_path, state::StateDb::Mode::read_only);
      state::ConfigStore store(*db, agent_key);
      if (auto stored = store.load()) {
        out["config"] = config_to_json(stored->config, allow_secrets);
        out["config_secrets_dropped"] = stored->secrets_dropped;
        out["config_saved_at_ms"] = stored->saved_at_ms;
      } else {
        out["config"] = nullptr;
      }
      state::Outbox outbox(*db);
      out["outbox"] = {{"depth", outbox.depth()}, {"last_seq", outbox.last_seq()}};
      state::RunJournal journal(*db, agent_key);
      out["runs"] = runs_to_json(journal);
    }
  } catch (const std::exception& e) {
    std::cerr << "backupy-agent: cannot read the agent state in " << state_dir.string() << ": "
              << core::redact(e.what()) << "\n";
    return 1;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace backupy::agent
