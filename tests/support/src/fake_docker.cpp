#include "backupy/test_support/fake_docker.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "backupy/test_support/s3_server.hpp"

namespace backupy::test_support {

FakeDockerEngine::FakeDockerEngine(FakeDockerOptions options)
    : dir_("backupy-fake-docker"),
      socket_(dir_.path() / "docker.sock"),
      log_(dir_.path() / "execs.jsonl") {
  std::vector<std::string> argv = {node_binary().string(),
                                   node_tool("fake_docker.js").string(),
                                   "--socket",
                                   socket_.string(),
                                   "--log",
                                   log_.string(),
                                   "--api-version",
                                   options.api_version,
                                   "--ping-version",
                                   options.ping_reports_version ? "yes" : "no",
                                   "--start-status",
                                   std::to_string(options.start_status),
                                   "--chunked",
                                   options.chunked ? "yes" : "no",
                                   "--path",
                                   options.image_path};
  if (!options.fixtures.empty()) argv.insert(argv.end(), {"--fixtures", options.fixtures.string()});
  for (const auto& id : options.containers) argv.insert(argv.end(), {"--container", id});
  for (const auto& id : options.stopped) argv.insert(argv.end(), {"--stopped-container", id});
  std::ofstream(log_).flush();  // exists (empty) before the first exec
  process_ = std::make_unique<Process>(argv, std::map<std::string, std::string>{},
                                       dir_.path() / "stdout.log", dir_.path() / "stderr.log");
  // Ready once node printed {"socket":...} from its listen callback: the
  // socket file alone appears at bind(), a moment before listen().
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (detail::read_file(process_->stdout_file()).find("\"socket\"") == std::string::npos) {
    if (!process_->running() || std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("fake_docker.js did not listen on " + socket_.string() +
                               "; stderr: " + detail::read_file(process_->stderr_file()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

FakeDockerEngine::~FakeDockerEngine() {
  if (process_) detail::stop_process(*process_, std::chrono::seconds(2));
}

std::vector<FakeExec> FakeDockerEngine::execs() const {
  std::vector<FakeExec> out;
  std::ifstream in(log_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto json = nlohmann::json::parse(line);
    out.push_back({json.at("container").get<std::string>(),
                   json.at("cmd").get<std::vector<std::string>>(),
                   json.at("env").get<std::vector<std::string>>()});
  }
  return out;
}

}  // namespace backupy::test_support
