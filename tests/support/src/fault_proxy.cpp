#include "backupy/test_support/fault_proxy.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "backupy/test_support/s3_server.hpp"

namespace backupy::test_support {

FaultProxy::FaultProxy(std::string target, std::vector<std::string> plan)
    : dir_("backupy-fault-proxy"), target_(std::move(target)) {
  const std::filesystem::path script = node_tool("fault_proxy.js");
  const std::filesystem::path plan_file = dir_.path() / "plan.json";
  {
    std::ofstream out(plan_file);
    out << Json(plan).dump() << "\n";
  }
  process_ = std::make_unique<Process>(
      std::vector<std::string>{node_binary().string(), script.string(), "--target", target_,
                               "--plan-file", plan_file.string(), "--address", "127.0.0.1",
                               "--port", "0"},
      std::map<std::string, std::string>{}, dir_.path() / "stdout.log", dir_.path() / "stderr.log");
  log_ = std::make_unique<LogWatcher>(dir_.path() / "stdout.log");
  port_ = detail::wait_for_port(*process_, *log_, "fault proxy", std::chrono::seconds(20));
}

FaultProxy::~FaultProxy() {
  if (process_) detail::stop_process(*process_, std::chrono::seconds(2));
}

std::string FaultProxy::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string FaultProxy::via(const std::string& url) const {
  if (url.compare(0, target_.size(), target_) != 0 ||
      (url.size() > target_.size() && url[target_.size()] != '/')) {
    throw std::invalid_argument("URL does not start with the proxy's target " + target_);
  }
  return endpoint() + url.substr(target_.size());
}

std::vector<Json> FaultProxy::requests() {
  std::vector<Json> out =
      log_->all([](const Json& line) { return line.is_object() && line.contains("seq"); });
  std::sort(out.begin(), out.end(), [](const Json& a, const Json& b) {
    return a["seq"].get<long>() < b["seq"].get<long>();
  });
  return out;
}

std::vector<Json> FaultProxy::wait_for_requests(std::size_t count,
                                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<Json> seen = requests();
    if (seen.size() >= count || std::chrono::steady_clock::now() >= deadline) return seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string FaultProxy::raw_output() {
  log_->poll();
  return log_->raw() + detail::read_file(process_->stderr_file());
}

}  // namespace backupy::test_support
