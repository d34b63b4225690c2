#include "backupy/test_support/fake_docker.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "backupy/test_support/s3_server.hpp"

namespace backupy::test_support {
namespace {

// One request to the fake's admin routes: plain blocking HTTP/1.1 over the unix socket;
// the fake answers admin requests with a Content-Length and closes (Connection: close).
nlohmann::json admin_request(const std::filesystem::path& socket, const std::string& method,
                             const std::string& path, const std::string& body) {
  const std::string what = method + " " + path + " on " + socket.string();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(what + ": socket: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(what + ": connect: " + std::strerror(errno));
  }
  const std::string request = method + " " + path +
                              " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
                              "Content-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error(what + ": send: " + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) != 0;) {
    if (n < 0) throw std::runtime_error(what + ": recv: " + std::strerror(errno));
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  const std::size_t head_end = answer.find("\r\n\r\n");
  if (!answer.starts_with("HTTP/1.1 200 ") || head_end == std::string::npos) {
    throw std::runtime_error(what + ": " + answer.substr(0, 200));
  }
  return nlohmann::json::parse(answer.substr(head_end + 4));
}

}  // namespace

FakeDockerEngine::FakeDockerEngine(FakeDockerOptions options)
    : dir_("backupy-fake-docker"),
      socket_(options.socket.empty() ? dir_.path() / "docker.sock" : options.socket),
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

namespace backupy::test_support {

int FakeDockerEngine::inject_event(const std::string& action, const std::string& id) {
  return admin_request(socket_, "POST", "/_fake/events",
                       nlohmann::json{{"Action", action}, {"id", id}}.dump())
      .at("delivered")
      .get<int>();
}

void FakeDockerEngine::set_running(const std::vector<std::string>& ids) {
  admin_request(socket_, "POST", "/_fake/running", nlohmann::json(ids).dump());
}

int FakeDockerEngine::close_event_streams() {
  return admin_request(socket_, "POST", "/_fake/close-event-streams", "").at("closed").get<int>();
}

nlohmann::json FakeDockerEngine::state() const {
  return admin_request(socket_, "GET", "/_fake/state", "");
}

bool FakeDockerEngine::wait_for_state(const std::function<bool(const nlohmann::json&)>& pred,
                                      std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred(state())) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace backupy::test_support
