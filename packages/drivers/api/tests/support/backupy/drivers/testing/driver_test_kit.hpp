#pragma once
// Helpers every engine's tests share: files, the fixed test key, a sink that
// acts while the dump tool is blocked on its pipe, and /proc inspection of
// the dump tool (to prove what is and is not in its argv and environment).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/drivers/driver.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::drivers::testing {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Without trailing newlines and spaces (CLI output).
inline std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// DOCKER_EXEC (test_support::FakeDockerEngine::execs()): every exec ran in
// container, secret never in its Cmd but in one of its Env entries, and no
// PATH was sent (the image's own applies).
template <typename Exec>
void expect_secret_only_in_exec_env(const std::vector<Exec>& execs, const std::string& container,
                                    const std::string& secret) {
  ASSERT_FALSE(execs.empty());
  for (const auto& exec : execs) {
    EXPECT_EQ(exec.container, container);
    for (const auto& arg : exec.cmd) EXPECT_EQ(arg.find(secret), std::string::npos) << arg;
    bool in_env = false;
    for (const auto& var : exec.env) {
      in_env = in_env || var.find(secret) != std::string::npos;
      EXPECT_FALSE(var.starts_with("PATH=")) << var;
    }
    EXPECT_TRUE(in_env) << "the secret is in no Env entry of " << exec.cmd.front();
  }
}

// The fixed data key of the round-trip tests.
inline std::array<std::uint8_t, 32> dek() {
  std::array<std::uint8_t, 32> key{};
  key.fill(0x5A);
  return key;
}

// A sink that runs a callback on its first write (while the dump tool is
// running and blocked on the pipe), then counts the bytes.
class FirstWriteSink : public stream::ByteSink {
 public:
  explicit FirstWriteSink(std::function<void()> on_first) : on_first_(std::move(on_first)) {}
  void write(std::span<const std::uint8_t> data) override {
    if (!fired_) {
      fired_ = true;
      on_first_();
    }
    bytes_ += data.size();
  }
  void finish() override {}
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::function<void()> on_first_;
  bool fired_ = false;
  std::uint64_t bytes_ = 0;
};

// Live (not zombie) direct children of this process whose command is one of names.
inline std::vector<pid_t> children_named(std::initializer_list<std::string_view> names) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(entry.path() / "stat");
    const auto open = stat.find('(');
    const auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2) continue;
    bool wanted = false;
    for (std::string_view candidate : names) wanted = wanted || comm == candidate;
    if (ppid == ::getpid() && wanted && state != 'Z') found.push_back(std::stoi(name));
  }
  return found;
}

// /proc/<pid>/cmdline and environ are NUL-separated.
inline std::vector<std::string> split_nul(const std::string& text) {
  std::vector<std::string> parts;
  std::string current;
  for (char c : text) {
    if (c == '\0') {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) parts.push_back(current);
  return parts;
}

// The DriverError's message f throws (a test failure if it throws none).
template <typename F>
std::string driver_error_of(F&& f) {
  try {
    f();
  } catch (const DriverError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected DriverError";
  return {};
}

// A closed port (free_port: nothing listens there): probe() fails "unreachable", naming
// the target and 127.0.0.1:<port>, never the password. Every networked engine answers so.
template <typename MakeDriver>
void expect_unreachable_error(MakeDriver make_driver, DumpContext c, int free_port,
                              const std::string& password) {
  c.target.mutable_connection()->set_port(static_cast<std::uint32_t>(free_port));
  const std::string message = driver_error_of([&] { make_driver(c)->probe(); });
  EXPECT_NE(message.find("unreachable"), std::string::npos) << message;
  EXPECT_NE(message.find(c.target.id()), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(free_port)), std::string::npos) << message;
  EXPECT_EQ(message.find(password), std::string::npos) << message;
}

// A database the server does not have: probe() names it, the target and 127.0.0.1:<port>.
template <typename MakeDriver>
void expect_missing_database_error(MakeDriver make_driver, DumpContext c, int server_port) {
  c.target.mutable_connection()->set_database("no_such_db");
  const std::string message = driver_error_of([&] { make_driver(c)->probe(); });
  EXPECT_NE(message.find("\"no_such_db\" does not exist"), std::string::npos) << message;
  EXPECT_NE(message.find(c.target.id()), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server_port)), std::string::npos) << message;
}

}  // namespace backupy::drivers::testing
