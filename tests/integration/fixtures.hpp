#pragma once
// Integration fixtures: the real backupy-control-plane and backupy-agent
// binaries as child processes, talking TLS over loopback with a throwaway PKI.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backupy/test_support/log_watcher.hpp"
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/s3_server.hpp"

namespace backupy::testing {

using namespace std::chrono_literals;
using namespace backupy::test_support;  // Process, LogWatcher, predicates

// A temp directory removed at the end of the test, plus the shared test PKI.
class Workspace {
 public:
  Workspace();
  ~Workspace();
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path pki() const;  // ca.crt, server.crt, server.key, ...

 private:
  std::filesystem::path dir_;
};

std::string sha256_hex(const std::string& text);
// The whole file as bytes ("" if it cannot be read).
std::string slurp(const std::filesystem::path& file);
// Standard or URL-safe base64, padding optional, to bytes; throws on a foreign character.
std::string decode_base64(std::string_view text);
// A valid 64-hex agent key, different per name.
std::string agent_key_for(const std::string& name);
// A SQLite database at file with one table, orders(id, item), of `rows` rows
// ("order 0" ...): the target of the SQLite backup tests. Throws on failure.
void create_orders_database(const std::filesystem::path& file, int rows);
// "count/first/last" of a database file's orders table ("" if unreadable): compares a restored
// copy with its source.
std::string orders_rows(const std::filesystem::path& file);
// An integer query against the control plane's catalog (a SQLite file), read-only beside the
// running control plane (WAL); -1 if it fails.
long long catalog_count(const std::filesystem::path& catalog, const std::string& sql);
// The agent `config:` YAML of the SQLite tests: target "lite" = database, job "orders" (zstd,
// encrypted, retention 7 days) on cron, plus extra_job_fields (e.g. ", pre_hooks: [...]").
std::string orders_agent_config(const std::filesystem::path& database,
                                const std::string& cron = "0 3 * * *",
                                const std::string& extra_job_fields = "");

struct ControlPlaneOptions {
  int heartbeat_interval_sec = 1;
  int ping_interval_sec = 30;
  bool delivery_ack = true;
  std::string agent_id = "agent-1";
  std::string agent_key = agent_key_for("agent-1");
  // YAML for the agent's `config:` block (indented by the fixture).
  std::string agent_config_yaml =
      "version: 1\n"
      "targets:\n"
      "  - {id: pg1, type: postgresql, display_name: Main, connection: {host: db, port: 5432, "
      "database: app, username: backup, password: \"Pg-Secret-Passw0rd\", strategy: tcp}}\n"
      "jobs:\n"
      "  - {id: nightly, target_id: pg1, cron: \"0 3 * * *\", retention_days: 7, compression: "
      "zstd, encryption_enabled: true}\n";
  // Operator API: plaintext admin bearer tokens (the YAML gets their sha256).
  std::vector<std::string> admin_tokens;
  // "s3": a `storage:` section is written when storage_endpoint is set; the secret goes to a
  // file beside the YAML (storage.secret_access_key_file). "local": the embedded store in
  // <workspace>/objects (storage.dir "objects", relative to the YAML), its URL key in a file
  // when storage_url_signing_key is set.
  std::string storage_type = "s3";
  std::string storage_url_signing_key;
  std::string storage_endpoint;
  std::string storage_bucket = "backups";
  std::string storage_region = "us-east-1";
  bool storage_path_style = true;
  std::string storage_access_key_id = "backupy-test";
  std::string storage_secret_access_key = "backupy-test-secret-key";
  int storage_url_ttl_sec = 3600;
  // scheduling.agent_cron: false keeps the v1 mode (the server schedules every agent).
  bool agent_cron = true;
  // serve --dev: no tls: section; the control plane generates <workspace>/dev-tls/ (ca_file()).
  bool dev_mode = false;
};

// An operator API answer: HTTP status and body (json() parses it; discarded if not JSON).
struct ApiReply {
  int status = 0;
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

class ControlPlane {
 public:
  ControlPlane(const Workspace& ws, ControlPlaneOptions options, int port = 0);
  ~ControlPlane();

  int port() const { return port_; }
  LogWatcher& log() { return *log_; }
  Process& process() { return *process_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // The CA clients must trust: the test PKI's, or in dev mode the generated one.
  std::filesystem::path ca_file() const;
  // Its SQLite catalog (beside its YAML, the default state directory).
  std::filesystem::path catalog() const;

  // Rewrites the YAML (same port) and sends SIGHUP.
  void reload(const std::string& agent_config_yaml);
  void kill();     // SIGKILL, as a crash
  void restart();  // start again on the same port
  void write_config(const std::string& agent_config_yaml);
  // The agent's key changes server-side (rotation): rewrite + SIGHUP.
  void rotate_agent_key(const std::string& new_key);
  // Calls the operator API with the curl CLI (trusting the test CA). An empty admin_token
  // sends no Authorization header; body is sent as is when not empty.
  ApiReply api(const std::string& method, const std::string& path, const std::string& admin_token,
               const std::string& body = "",
               const std::map<std::string, std::string>& headers = {}) const;
  // Fetches the run's stored object the way an operator does — GET /v1/runs/{id}/download-url,
  // then a plain GET of that URL (curl) — into file. Throws with the reason on failure.
  void download_object(const std::string& run_id, const std::string& admin_token,
                       const std::filesystem::path& file) const;
  // Restores blob (the run's stored object) into out the way an operator does: a decryption
  // token from POST /v1/runs/{id}/decryption-token in a file beside blob, then backupy-decrypt.
  // Throws if no token was issued; backupy-decrypt's own outcome is returned.
  CommandResult decrypt_object(const std::string& run_id, const std::string& admin_token,
                               const std::filesystem::path& blob,
                               const std::filesystem::path& out) const;
  // Polls GET /v1/runs/{id} until pred holds or timeout passes; returns the last answer.
  Json wait_for_run(const std::string& run_id, const std::string& admin_token,
                    const std::function<bool(const Json&)>& pred,
                    std::chrono::milliseconds timeout) const;

 private:
  void start();
  const Workspace& ws_;
  ControlPlaneOptions options_;
  int port_;
  int generation_ = 0;
  std::filesystem::path config_file_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<LogWatcher> log_;
};

// The SQLite "orders" job of tests that need a run in flight: each run's pre-hook holds it until
// open_gate(), so that the test can act while the run demonstrably runs; storage is S3 (s3rver).
class GatedOrders {
 public:
  GatedOrders(const Workspace& ws, int rows);
  std::filesystem::path database() const { return ws_.dir() / "app.db"; }
  std::filesystem::path gate() const { return ws_.dir() / "go"; }
  // extra_agent_yaml is appended to the agent's config (e.g. "advanced: {...}\n").
  ControlPlaneOptions options(const std::string& admin_token, const std::string& storage_endpoint,
                              const std::string& extra_agent_yaml = "") const;
  void open_gate() const;

 private:
  const Workspace& ws_;
};

struct AgentOptions {
  std::string server_url;
  std::string agent_key = agent_key_for("agent-1");
  // Added to (and overriding) the defaults of Agent::env(): debug logs, no metrics listener,
  // discovery off (BACKUPY_DISABLE_DISCOVERY=true).
  std::map<std::string, std::string> extra_env;
};

class Agent {
 public:
  Agent(const Workspace& ws, AgentOptions options, std::string name = "agent");
  ~Agent();

  void start();
  void stop_gracefully();  // SIGTERM and wait
  LogWatcher& log() { return *log_; }
  Process& process() { return *process_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  std::map<std::string, std::string> env() const;
  // Runs `backupy-agent <args>` with the same environment.
  CommandResult command(std::vector<std::string> args) const;

 private:
  const Workspace& ws_;
  AgentOptions options_;
  std::string name_;
  int generation_ = 0;
  std::filesystem::path state_dir_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<LogWatcher> log_;
};

}  // namespace backupy::testing
