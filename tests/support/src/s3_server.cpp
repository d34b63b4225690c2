#include "backupy/test_support/s3_server.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef BACKUPY_NODE_BIN
#error "BACKUPY_NODE_BIN must be defined (tests/support/CMakeLists.txt)"
#endif
#ifndef BACKUPY_TEST_NODE_DIR
#error "BACKUPY_TEST_NODE_DIR must be defined (tests/support/CMakeLists.txt)"
#endif

namespace backupy::test_support {
namespace {

constexpr const char* kSetupHint = "run scripts/setup.sh (it runs npm ci in tests/support/node)";

std::string random_hex(std::size_t bytes) {
  std::random_device device;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    const unsigned value = device() & 0xffu;
    out += kDigits[value >> 4];
    out += kDigits[value & 0xfu];
  }
  return out;
}

// RFC 3986 unreserved characters stay; everything else (but '/' when keep_slash) is %XX.
std::string uri_encode(const std::string& text, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xfu];
    }
  }
  return out;
}

std::string utc_format(std::time_t when, const char* format) {
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  std::array<char, 32> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), format, &tm);
  return std::string(text.data(), n);
}

}  // namespace

// ---------------------------------------------------------------- node tools --

std::filesystem::path node_binary() {
  return BACKUPY_NODE_BIN;
}

std::filesystem::path node_tools_dir() {
  return BACKUPY_TEST_NODE_DIR;
}

std::filesystem::path node_tool(const std::string& script) {
  const std::filesystem::path node = node_binary();
  if (node.empty() || ::access(node.c_str(), X_OK) != 0) {
    throw std::runtime_error("node executable '" + node.string() +
                             "' not found (configure found none); install Node.js 18 or later");
  }
  const std::filesystem::path path = node_tools_dir() / script;
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error("node test tool " + path.string() + " does not exist");
  }
  if (!std::filesystem::is_regular_file(node_tools_dir() / "node_modules" / ".package-lock.json")) {
    throw std::runtime_error("node test tools are not installed in " + node_tools_dir().string() +
                             ": " + kSetupHint);
  }
  return path;
}

CommandResult decrypt_blob_with_node(const std::string& key_hex, const std::filesystem::path& in,
                                     const std::filesystem::path& out) {
  return run_command({node_binary().string(), node_tool("decrypt_blob.js").string(), "--key-hex",
                      key_hex, "--in", in.string(), "--out", out.string()},
                     {}, std::chrono::seconds(60));
}

std::filesystem::path find_executable(const std::string& name) {
  const char* path_env = std::getenv("PATH");
  std::string dirs = path_env ? path_env : "";
  dirs += ":/usr/local/bin:/usr/bin:/bin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) {
      return candidate;
    }
  }
  throw std::runtime_error("executable '" + name + "' not found on PATH: " + kSetupHint);
}

std::string presigned_signature(const std::string& url) {
  static constexpr std::string_view kParam = "X-Amz-Signature=";
  const std::size_t at = url.find(kParam);
  if (at == std::string::npos) return "";
  const std::size_t start = at + kParam.size();
  return url.substr(start, url.find('&', start) - start);
}

namespace detail {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

int wait_for_port(Process& process, LogWatcher& stdout_log, const std::string& what,
                  std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    stdout_log.poll();
    for (const Json& line : stdout_log.all([](const Json& j) { return j.is_object(); })) {
      if (line.contains("port") && line["port"].is_number_integer()) {
        return line["port"].get<int>();
      }
    }
    const bool exited = !process.running();
    if (exited || std::chrono::steady_clock::now() >= deadline) {
      stdout_log.poll();
      throw std::runtime_error(
          what +
          (exited ? " exited before listening"
                  : " did not listen in " + std::to_string(timeout.count()) + " ms") +
          "; stderr: " + read_file(process.stderr_file()) + " stdout: " + stdout_log.raw());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void stop_process(Process& process, std::chrono::milliseconds grace) {
  process.signal(SIGTERM);
  if (!process.wait(grace)) process.kill_and_wait();
}

}  // namespace detail

// ------------------------------------------------------------------ S3Server --

S3Server::S3Server(std::string bucket)
    : dir_("backupy-s3rver"), data_dir_(dir_.path() / "data"), bucket_(std::move(bucket)) {
  const std::filesystem::path script = node_tool("s3rver_main.js");
  if (!std::filesystem::is_directory(node_tools_dir() / "node_modules" / "s3rver")) {
    throw std::runtime_error(std::string("s3rver is not installed: ") + kSetupHint);
  }
  process_ = std::make_unique<Process>(
      std::vector<std::string>{node_binary().string(), script.string(), "--dir", data_dir_.string(),
                               "--bucket", bucket_, "--address", "127.0.0.1", "--port", "0"},
      std::map<std::string, std::string>{}, dir_.path() / "stdout.log", dir_.path() / "stderr.log");
  LogWatcher log(dir_.path() / "stdout.log");
  port_ = detail::wait_for_port(*process_, log, "s3rver", std::chrono::seconds(20));
}

S3Server::~S3Server() {
  if (process_) detail::stop_process(*process_, std::chrono::seconds(2));
}

std::string S3Server::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

std::string S3Server::object_url(const std::string& key) const {
  return endpoint() + "/" + uri_encode(bucket_, false) + "/" + uri_encode(key, true);
}

std::string S3Server::presigned_put_url(const std::string& key,
                                        std::chrono::seconds expires_in) const {
  const std::time_t now = std::time(nullptr);
  const std::string credential =
      "S3RVER/" + utc_format(now, "%Y%m%d") + "/us-east-1/s3/aws4_request";
  return object_url(key) +
         "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=" +
         uri_encode(credential, false) + "&X-Amz-Date=" + utc_format(now, "%Y%m%dT%H%M%SZ") +
         "&X-Amz-Expires=" + std::to_string(expires_in.count()) +
         "&X-Amz-SignedHeaders=host"
         "&X-Amz-Signature=" +
         random_hex(32);
}

std::optional<std::string> S3Server::read_object(const std::string& key) const {
  const std::filesystem::path body = dir_.path() / ("get-" + random_hex(8));
  const CommandResult result = run_command({find_executable("curl").string(), "-sS", "-o",
                                            body.string(), "-w", "%{http_code}", object_url(key)},
                                           {});
  std::string content = detail::read_file(body);
  std::filesystem::remove(body);
  if (result.exit_code != 0) {
    throw std::runtime_error("curl GET " + object_url(key) + " failed (exit " +
                             std::to_string(result.exit_code) + "): " + result.err);
  }
  if (result.out == "404") return std::nullopt;
  if (result.out != "200") {
    throw std::runtime_error("GET " + object_url(key) + " answered " + result.out + ": " + content);
  }
  return content;
}

}  // namespace backupy::test_support
