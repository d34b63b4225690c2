#include "fixtures.hpp"

#include <openssl/sha.h>
#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "backupy/test_support/test_pki.hpp"

namespace backupy::testing {
namespace {

std::string indent(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

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
  out << "listen: \"127.0.0.1:" << port_ << "\"\n"
      << "tls:\n"
      << "  cert_file: " << (ws_.pki() / "server.crt").string() << "\n"
      << "  key_file: " << (ws_.pki() / "server.key").string() << "\n"
      << "heartbeat_interval_sec: " << options_.heartbeat_interval_sec << "\n"
      << "ping_interval_sec: " << options_.ping_interval_sec << "\n"
      << "delivery_ack: " << (options_.delivery_ack ? "true" : "false") << "\n"
      << "agents:\n"
      << "  - id: " << options_.agent_id << "\n"
      << "    key_sha256: \"" << sha256_hex(options_.agent_key) << "\"\n"
      << "    config:\n"
      << indent(agent_config_yaml, "      ");
}

void ControlPlane::start() {
  const auto out = ws_.dir() / ("cp-" + std::to_string(++generation_) + ".log");
  process_ =
      std::make_unique<Process>(std::vector<std::string>{BACKUPY_CONTROL_PLANE_BIN, "serve",
                                                         "--config", config_file_.string()},
                                std::map<std::string, std::string>{}, out, ws_.dir() / "cp.stderr");
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

void ControlPlane::reload(const std::string& agent_config_yaml) {
  write_config(agent_config_yaml);
  process_->signal(SIGHUP);
}

void ControlPlane::rotate_agent_key(const std::string& new_key) {
  options_.agent_key = new_key;
  reload(options_.agent_config_yaml);
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

}  // namespace backupy::testing
