#include "fixtures.hpp"

#include <openssl/sha.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "backupy/test_support/test_pki.hpp"

namespace backupy::testing {
namespace {

std::string indent(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

// run_command() execs without a PATH search.
}  // namespace

Workspace::Workspace() {
  char tmpl[] = "/tmp/backupy-it-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
}

Workspace::~Workspace() {
  std::filesystem::remove_all(dir_);
}

std::filesystem::path Workspace::pki() const {
  return test_support::test_pki();
}

std::string orders_agent_config(const std::filesystem::path& database, const std::string& cron,
                                const std::string& extra_job_fields) {
  return "version: 1\n"
         "targets:\n"
         "  - {id: lite, type: sqlite, display_name: Orders, connection: {database: \"" +
         database.string() +
         "\"}}\n"
         "jobs:\n"
         "  - {id: orders, target_id: lite, cron: \"" +
         cron + "\", retention_days: 7, compression: zstd, encryption_enabled: true" +
         extra_job_fields + "}\n";
}

std::string slurp(const std::filesystem::path& file) {
  return test_support::detail::read_file(file);
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 2 * SHA256_DIGEST_LENGTH);
}

std::string agent_key_for(const std::string& name) {
  return sha256_hex("agent-key:" + name);
}

// ------------------------------------------------------------ ControlPlane --

ControlPlane::ControlPlane(const Workspace& ws, ControlPlaneOptions options, int port)
    : ws_(ws), options_(std::move(options)), port_(port), config_file_(ws.dir() / "cp.yaml") {
  write_config(options_.agent_config_yaml);
  start();
}

ControlPlane::~ControlPlane() = default;

void ControlPlane::write_config(const std::string& agent_config_yaml) {
  options_.agent_config_yaml = agent_config_yaml;
  std::ofstream out(config_file_);
  out << "listen: \"127.0.0.1:" << port_ << "\"\n";
  if (!options_.dev_mode) {
    out << "tls:\n"
        << "  cert_file: " << (ws_.pki() / "server.crt").string() << "\n"
        << "  key_file: " << (ws_.pki() / "server.key").string() << "\n";
  }
  out << "heartbeat_interval_sec: " << options_.heartbeat_interval_sec << "\n"
      << "ping_interval_sec: " << options_.ping_interval_sec << "\n"
      << "delivery_ack: " << (options_.delivery_ack ? "true" : "false") << "\n"
      << "agents:\n"
      << "  - id: " << options_.agent_id << "\n"
      << "    key_sha256: \"" << sha256_hex(options_.agent_key) << "\"\n"
      << "    config:\n"
      << indent(agent_config_yaml, "      ");
  if (!options_.agent_cron) out << "scheduling:\n  agent_cron: false\n";
  if (!options_.admin_tokens.empty()) {
    out << "admin:\n  token_sha256:\n";
    for (const std::string& token : options_.admin_tokens) {
      out << "    - \"" << sha256_hex(token) << "\"\n";
    }
  }
  if (options_.storage_type == "local") {
    out << "storage:\n"
        << "  type: local\n"
        << "  dir: objects\n"
        << "  url_ttl_sec: " << options_.storage_url_ttl_sec << "\n";
    if (!options_.storage_url_signing_key.empty()) {
      const auto key_file = ws_.dir() / "url-signing.key";
      std::ofstream(key_file) << options_.storage_url_signing_key << "\n";
      out << "  url_signing_key_file: " << key_file.string() << "\n";
    }
  } else if (!options_.storage_endpoint.empty()) {
    const auto secret_file = ws_.dir() / "s3-secret-access-key";
    std::ofstream(secret_file) << options_.storage_secret_access_key << "\n";
    out << "storage:\n"
        << "  type: s3\n"
        << "  endpoint: \"" << options_.storage_endpoint << "\"\n"
        << "  region: " << options_.storage_region << "\n"
        << "  bucket: " << options_.storage_bucket << "\n"
        << "  path_style: " << (options_.storage_path_style ? "true" : "false") << "\n"
        << "  access_key_id: " << options_.storage_access_key_id << "\n"
        << "  secret_access_key_file: " << secret_file.string() << "\n"
        << "  url_ttl_sec: " << options_.storage_url_ttl_sec << "\n";
  }
}

void ControlPlane::start() {
  const auto out = ws_.dir() / ("cp-" + std::to_string(++generation_) + ".log");
  std::vector<std::string> argv = {BACKUPY_CONTROL_PLANE_BIN, "serve", "--config",
                                   config_file_.string()};
  if (options_.dev_mode) argv.push_back("--dev");
  process_ = std::make_unique<Process>(std::move(argv), std::map<std::string, std::string>{}, out,
                                       ws_.dir() / "cp.stderr");
  log_ = std::make_unique<LogWatcher>(out);
  const auto listening = log_->wait_for(event_is("listening"), 20s);
  if (!listening) {
    throw std::runtime_error("control plane did not start:\n" + log_->dump_tail());
  }
  const int bound = listening->value("port", 0);
  if (port_ == 0) {
    port_ = bound;
    write_config(options_.agent_config_yaml);  // pin the port for restarts
  }
}

std::filesystem::path ControlPlane::ca_file() const {
  return options_.dev_mode ? ws_.dir() / "dev-tls" / "ca.crt" : ws_.pki() / "ca.crt";
}

std::filesystem::path ControlPlane::catalog() const {
  return config_file_.parent_path() / "catalog.db";
}

void ControlPlane::reload(const std::string& agent_config_yaml) {
  write_config(agent_config_yaml);
  process_->signal(SIGHUP);
}

void ControlPlane::rotate_agent_key(const std::string& new_key) {
  options_.agent_key = new_key;
  reload(options_.agent_config_yaml);
}

ApiReply ControlPlane::api(const std::string& method, const std::string& path,
                           const std::string& admin_token, const std::string& body,
                           const std::map<std::string, std::string>& headers) const {
  std::vector<std::string> argv = {find_executable("curl").string(),
                                   "--silent",
                                   "--show-error",
                                   "--cacert",
                                   ca_file().string(),
                                   "--request",
                                   method,
                                   "--write-out",
                                   "\n%{http_code}"};
  if (!admin_token.empty()) {
    argv.insert(argv.end(), {"--header", "Authorization: Bearer " + admin_token});
  }
  for (const auto& [name, value] : headers) {
    argv.insert(argv.end(), {"--header", name + ": " + value});
  }
  if (!body.empty()) {
    argv.insert(argv.end(), {"--header", "Content-Type: application/json", "--data-binary", body});
  }
  argv.push_back(url() + path);
  const CommandResult result = run_command(std::move(argv), {});
  ApiReply reply;
  const std::size_t last = result.out.rfind('\n');
  if (result.exit_code != 0 || last == std::string::npos) {
    throw std::runtime_error("curl " + method + " " + path + " failed: " + result.err);
  }
  reply.body = result.out.substr(0, last);
  reply.status = std::stoi(result.out.substr(last + 1));
  return reply;
}

void ControlPlane::download_object(const std::string& run_id, const std::string& admin_token,
                                   const std::filesystem::path& file) const {
  const ApiReply reply = api("GET", "/v1/runs/" + run_id + "/download-url", admin_token);
  const std::string url = reply.json().value("url", "");
  if (reply.status != 200 || url.empty()) {
    throw std::runtime_error("download-url of " + run_id + ": HTTP " +
                             std::to_string(reply.status) + " " + reply.body);
  }
  const CommandResult fetched =
      run_command({find_executable("curl").string(), "--silent", "--show-error", "--fail",
                   "--cacert", (ws_.pki() / "ca.crt").string(), "--output", file.string(), url},
                  {});
  if (fetched.exit_code != 0) {
    throw std::runtime_error("fetching the download URL of " + run_id + " failed: " + fetched.err);
  }
}

CommandResult ControlPlane::decrypt_object(const std::string& run_id,
                                           const std::string& admin_token,
                                           const std::filesystem::path& blob,
                                           const std::filesystem::path& out) const {
  const ApiReply token = api("POST", "/v1/runs/" + run_id + "/decryption-token", admin_token);
  const std::string jwt = token.json().value("token", "");
  if (token.status != 200 || jwt.empty()) {
    throw std::runtime_error("decryption-token of " + run_id + ": HTTP " +
                             std::to_string(token.status) + " " + token.body);
  }
  const std::filesystem::path token_file = blob.string() + ".token";
  std::ofstream(token_file) << jwt;
  return run_command({BACKUPY_DECRYPT_BIN, "--token-file", token_file.string(), "--in",
                      blob.string(), "--out", out.string()},
                     {});
}

Json ControlPlane::wait_for_run(const std::string& run_id, const std::string& admin_token,
                                const std::function<bool(const Json&)>& pred,
                                std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Json run;
  while (std::chrono::steady_clock::now() < deadline) {
    const ApiReply reply = api("GET", "/v1/runs/" + run_id, admin_token);
    run = reply.json();
    if (reply.status == 200 && pred(run)) break;
    std::this_thread::sleep_for(100ms);
  }
  return run;
}

std::string decode_base64(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int value = 0;
    if (c >= 'A' && c <= 'Z') {
      value = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      value = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      value = c - '0' + 52;
    } else if (c == '+' || c == '-') {
      value = 62;
    } else if (c == '/' || c == '_') {
      value = 63;
    } else if (c == '=') {
      break;
    } else {
      throw std::runtime_error("not base64");
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

void ControlPlane::kill() {
  process_->kill_and_wait();
}

void ControlPlane::restart() {
  if (process_->running()) kill();
  start();
}

// ------------------------------------------------------------------- Agent --

Agent::Agent(const Workspace& ws, AgentOptions options, std::string name)
    : ws_(ws),
      options_(std::move(options)),
      name_(std::move(name)),
      state_dir_(ws.dir() / (name_ + "-state")) {}

Agent::~Agent() = default;

std::map<std::string, std::string> Agent::env() const {
  std::map<std::string, std::string> env = {
      {"BACKUPY_SERVER_URL", options_.server_url},
      {"BACKUPY_AGENT_KEY", options_.agent_key},
      {"BACKUPY_STATE_DIR", state_dir_.string()},
      {"BACKUPY_CA_FILE", (ws_.pki() / "ca.crt").string()},
      {"BACKUPY_LOG_LEVEL", "debug"},
      {"BACKUPY_METRICS_LISTEN_ADDR", ""},
      // Off unless a test is about it: its reports and its "no Docker here" warning (a LogEvent
      // upstream) would add results to tests that count them (discovery_test.cpp turns it on).
      {"BACKUPY_DISABLE_DISCOVERY", "true"},
  };
  for (const auto& [key, value] : options_.extra_env) env[key] = value;
  return env;
}

void Agent::start() {
  const auto out = ws_.dir() / (name_ + "-" + std::to_string(++generation_) + ".log");
  process_ = std::make_unique<Process>(std::vector<std::string>{BACKUPY_AGENT_BIN, "run"}, env(),
                                       out, ws_.dir() / (name_ + ".stderr"));
  log_ = std::make_unique<LogWatcher>(out);
}

void Agent::stop_gracefully() {
  process_->signal(SIGTERM);
  process_->wait(15s);
}

CommandResult Agent::command(std::vector<std::string> args) const {
  args.insert(args.begin(), BACKUPY_AGENT_BIN);
  return run_command(std::move(args), env());
}

GatedOrders::GatedOrders(const Workspace& ws, int rows) : ws_(ws) {
  create_orders_database(database(), rows);
}

ControlPlaneOptions GatedOrders::options(const std::string& admin_token,
                                         const std::string& storage_endpoint,
                                         const std::string& extra_agent_yaml) const {
  ControlPlaneOptions o;
  o.admin_tokens = {admin_token};
  o.storage_endpoint = storage_endpoint;
  o.storage_access_key_id = "S3RVER";  // the only key id s3rver accepts
  o.agent_config_yaml = orders_agent_config(database(), "0 3 * * *",
                                            ", pre_hooks: [\"while [ ! -e " + gate().string() +
                                                " ]; do sleep 0.05; done\"]") +
                        extra_agent_yaml;
  return o;
}

void GatedOrders::open_gate() const {
  std::ofstream(gate()) << "go";
}

long long catalog_count(const std::filesystem::path& catalog, const std::string& sql) {
  sqlite3* db = nullptr;
  long long value = -1;
  if (sqlite3_open_v2(catalog.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

void create_orders_database(const std::filesystem::path& file, int rows) {
  sqlite3* db = nullptr;
  if (sqlite3_open(file.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot create " + file.string());
  }
  std::string sql = "BEGIN; CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT);";
  for (int i = 0; i < rows; ++i) {
    sql += "INSERT INTO orders(item) VALUES ('order " + std::to_string(i) + "');";
  }
  sql += "COMMIT;";
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("cannot fill " + file.string());
}

std::string orders_rows(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  std::string rows;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "SELECT count(*) || '/' || min(item) || '/' || max(item) FROM orders",
        [](void* out, int, char** values, char**) {
          *static_cast<std::string*>(out) = values[0] ? values[0] : "";
          return 0;
        },
        &rows, nullptr);
  }
  sqlite3_close(db);
  return rows;
}

}  // namespace backupy::testing
