#include "prometheus_server.hpp"

#include <signal.h>

#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/s3_server.hpp"

namespace backupy::testing {
namespace {

using namespace std::chrono_literals;
using test_support::find_executable;
using test_support::run_command;

// Generous for a loaded 2-core machine; an idle one is ready in ~0.3 s.
constexpr auto kStartTimeout = 30s;
constexpr int kBindAttempts = 3;

std::string last_lines(const std::string& text, std::size_t count) {
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= count && pos != std::string::npos && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

}  // namespace

HttpReply http_get(const std::string& url) {
  // The status and content type follow the body on lines of their own.
  const CommandResult result =
      run_command({find_executable("curl").string(), "--silent", "--max-time", "5", "--write-out",
                   "\n%{http_code}\n%{content_type}", url},
                  {});
  HttpReply reply;
  if (result.exit_code != 0) return reply;  // nothing answered (refused, timed out)
  const std::size_t type_line = result.out.rfind('\n');
  const std::size_t code_line =
      type_line == std::string::npos ? std::string::npos : result.out.rfind('\n', type_line - 1);
  if (code_line == std::string::npos) return reply;
  reply.body = result.out.substr(0, code_line);
  reply.status = std::stoi(result.out.substr(code_line + 1, type_line - code_line - 1));
  reply.content_type = result.out.substr(type_line + 1);
  return reply;
}

PrometheusServer::PrometheusServer(std::filesystem::path dir, std::string scrape_target)
    : dir_(std::move(dir)), scrape_target_(std::move(scrape_target)) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "prometheus.yml") << "global:\n"
                                         << "  scrape_interval: 1s\n"
                                         << "  scrape_timeout: 1s\n"
                                         << "  evaluation_interval: 1s\n"
                                         << "scrape_configs:\n"
                                         << "  - job_name: backupy-agent\n"
                                         << "    static_configs:\n"
                                         << "      - targets: [\"" << scrape_target_ << "\"]\n";
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  for (int attempt = 1; attempt <= kBindAttempts; ++attempt) {
    if (start(deadline)) return;
  }
  throw std::runtime_error("prometheus found no free port in " + std::to_string(kBindAttempts) +
                           " attempts:\n" + log_tail());
}

PrometheusServer::~PrometheusServer() {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait(5s)) process_->kill_and_wait();
}

bool PrometheusServer::start(std::chrono::steady_clock::time_point deadline) {
  if (process_) process_->kill_and_wait();
  port_ = test_support::pick_free_port();
  // One log per attempt: Process appends, and an earlier attempt's bind error must not count.
  log_file_ = dir_ / ("prometheus-" + std::to_string(port_) + ".log");
  process_ = std::make_unique<Process>(
      std::vector<std::string>{find_executable("prometheus").string(),
                               "--config.file=" + (dir_ / "prometheus.yml").string(),
                               "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                               "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                               "--log.level=info"},
      std::map<std::string, std::string>{}, dir_ / "prometheus.out", log_file_);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) {
      // Another test took the port between pick_free_port() and the bind: try a fresh one.
      if (log_tail().find("address already in use") != std::string::npos) return false;
      throw std::runtime_error("prometheus exited before it was ready:\n" + log_tail());
    }
    if (http_get(url() + "/-/ready").status == 200) return true;
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error("prometheus was not ready within " +
                           std::to_string(kStartTimeout.count()) + " s:\n" + log_tail());
}

std::string PrometheusServer::log_tail() const {
  return last_lines(test_support::detail::read_file(log_file_), 20);
}

Json PrometheusServer::query(const std::string& promql) const {
  const CommandResult result =
      run_command({find_executable("curl").string(), "--silent", "--show-error", "--max-time", "5",
                   "--get", "--data-urlencode", "query=" + promql, url() + "/api/v1/query"},
                  {});
  if (result.exit_code != 0) {
    throw std::runtime_error("prometheus query " + promql + " failed: " + result.err);
  }
  const Json answer = Json::parse(result.out, nullptr, false);
  if (!answer.is_object() || answer.value("status", "") != "success" || !answer.contains("data") ||
      !answer["data"].contains("result")) {
    throw std::runtime_error("prometheus query " + promql + " answered: " + result.out);
  }
  return answer["data"]["result"];
}

Json PrometheusServer::wait_for(const std::string& promql,
                                const std::function<bool(const Json&)>& pred,
                                std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Json result = query(promql);
  while (!pred(result) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    result = query(promql);
  }
  return result;
}

CommandResult promtool_check_metrics(const std::string& exposition,
                                     const std::filesystem::path& scratch_dir) {
  // run_command() has no stdin: a shell redirects the saved exposition into promtool.
  const std::filesystem::path file = scratch_dir / "exposition.txt";
  std::ofstream(file, std::ios::binary) << exposition;
  return run_command({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"",
                      find_executable("promtool").string(), file.string()},
                     {});
}

}  // namespace backupy::testing
