#include "backupy/test_support/fake_mongo.hpp"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "backupy/test_support/s3_server.hpp"

namespace backupy::test_support {

FakeMongod::FakeMongod(FakeMongodOptions options) : dir_("backupy-fake-mongod") {
  std::vector<std::string> argv = {node_binary().string(),
                                   node_tool("fake_mongod.js").string(),
                                   "--address",
                                   "127.0.0.1",
                                   "--port",
                                   "0",
                                   "--version",
                                   options.version};
  if (!options.user.empty()) {
    argv.insert(argv.end(), {"--user", options.user, "--password", options.password});
  }
  std::string databases;
  for (const auto& [name, size] : options.databases) {
    databases += (databases.empty() ? "" : ",") + name + ":" + std::to_string(size);
  }
  argv.insert(argv.end(), {"--databases", databases});
  if (options.unix_socket) {
    // The Go and C drivers take a socket only as a path ending in ".sock".
    socket_path_ = dir_.path() / "mongodb-test.sock";
    argv.insert(argv.end(), {"--socket", socket_path_.string()});
  }
  process_ = std::make_unique<Process>(std::move(argv), std::map<std::string, std::string>{},
                                       dir_.path() / "stdout.log", dir_.path() / "stderr.log");
  log_ = std::make_unique<LogWatcher>(dir_.path() / "stdout.log");
  port_ = detail::wait_for_port(*process_, *log_, "fake_mongod", std::chrono::seconds(20));
}

FakeMongod::~FakeMongod() {
  if (process_) detail::stop_process(*process_, std::chrono::seconds(2));
}

std::vector<Json> FakeMongod::commands() {
  log_->poll();
  return log_->all([](const Json& j) { return j.is_object() && j.contains("command"); });
}

namespace {

// A copy of a node tool under name in bin, with an absolute interpreter: the
// driver's child PATH need not contain node, and with "#!/usr/bin/env node"
// the process would be named "node" instead of name.
void install_tool(const std::filesystem::path& bin, const std::string& name,
                  const std::string& script_name) {
  std::string script = detail::read_file(node_tool(script_name));
  if (script.starts_with("#!")) script.erase(0, script.find('\n'));
  const auto tool = bin / name;
  std::ofstream(tool, std::ios::binary) << "#!" << node_binary().string() << script;
  if (::chmod(tool.c_str(), 0755) != 0) throw std::runtime_error("chmod " + tool.string());
}

}  // namespace

FakeMongodump::FakeMongodump() : dir_("backupy-fake-mongodump"), bin_(dir_.path() / "bin") {
  std::filesystem::create_directories(bin_);
  install_tool(bin_, "mongodump", "fake_mongodump.js");
  install_tool(bin_, "mongosh", "fake_mongosh.js");
  plan(Json{{"mode", "ok"}});
}

void FakeMongodump::plan(const Json& plan) {
  std::ofstream(bin_ / "mongodump.plan.json", std::ios::binary | std::ios::trunc) << plan.dump();
  std::filesystem::remove(bin_ / "mongodump.report.json");
}

std::optional<Json> FakeMongodump::report() const {
  const auto path = bin_ / "mongodump.report.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return Json::parse(detail::read_file(path));
}

}  // namespace backupy::test_support

namespace backupy::test_support {

void FakeMongodump::plan_mongosh(const Json& plan) {
  std::ofstream(bin_ / "mongosh.plan.json", std::ios::binary | std::ios::trunc) << plan.dump();
  std::filesystem::remove(bin_ / "mongosh.report.json");
}

std::optional<Json> FakeMongodump::mongosh_report() const {
  const auto path = bin_ / "mongosh.report.json";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return Json::parse(detail::read_file(path));
}

}  // namespace backupy::test_support
