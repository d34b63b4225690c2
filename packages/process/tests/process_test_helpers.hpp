#pragma once
// Helpers shared by the process tests: small, real-process building blocks.
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "backupy/process/child.hpp"
#include "backupy/process/pump.hpp"

namespace backupy::process::testing {

inline std::vector<std::string> base_env() {
  return {"PATH=/usr/bin:/bin", "LANG=C"};
}

inline SpawnOptions sh(const std::string& script) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", script};
  options.env = base_env();
  return options;
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
