#pragma once
// Helpers shared by the process tests: small, real-process building blocks.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "backupy/process/child.hpp"
#include "backupy/process/pump.hpp"

namespace backupy::process::testing {

inline std::vector<std::string> base_env() {
  return {"PATH=/usr/bin:/bin", "LANG=C"};
}

// Runs argv with base_env().
inline SpawnOptions command(std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = std::move(argv);
  options.env = base_env();
  return options;
}

inline SpawnOptions sh(const std::string& script) {
  return command({"/bin/sh", "-c", script});
}

// A killed orphan is reparented and reaped by init; until then it is a zombie,
// which is as dead as it gets for us.
inline bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = content.rfind(')');
  return paren == std::string::npos || content.substr(paren + 2, 1) == "Z";
}

// Bounded wait for an asynchronous fact we cannot be told about (a
// grandchild's death is reported to init, not to us).
template <typename Predicate>
bool eventually(Predicate predicate,
                std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Reads one line from a blocking descriptor (the child's stdout).
inline std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

struct Collected {
  PumpResult result;
  std::string out;
  std::string err;
};

// Spawns `options`, which must fail, and hands the std::system_error to `check`.
inline void expect_spawn_error(const SpawnOptions& options,
                               const std::function<void(const std::system_error&)>& check) {
  try {
    Child::spawn(options);
    FAIL() << "spawn succeeded";
  } catch (const std::system_error& error) {
    check(error);
  }
}

// The options of a run that times out after 300 ms and escalates to SIGKILL 500 ms later.
inline PumpOptions short_timeout() {
  PumpOptions options;
  options.timeout = std::chrono::milliseconds(300);
  options.kill_grace = std::chrono::milliseconds(500);
  return options;
}

inline Collected run_collect(const SpawnOptions& spawn, PumpOptions options = {}) {
  Collected collected;
  options.on_stdout = [&](std::span<const char> bytes) {
    collected.out.append(bytes.data(), bytes.size());
  };
  options.on_stderr = [&](std::span<const char> bytes) {
    collected.err.append(bytes.data(), bytes.size());
  };
  Child child = Child::spawn(spawn);
  collected.result = pump(child, options);
  return collected;
}

}  // namespace backupy::process::testing
