#pragma once
// Helpers shared by the control plane tests.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/controlplane/server_config.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"

namespace backupy::controlplane::testing {

// A fresh directory under /tmp, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cp-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Test agent keys and their sha256 (the example config uses kKeyA).
inline const std::string kKeyA(64, 'a');
inline constexpr std::string_view kKeyAHash =
    "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb";
inline const std::string kKeyB(64, 'b');
inline constexpr std::string_view kKeyBHash =
    "a0fab1377f49a759b57f63318262ebe89fabfc990e8e93ceac2984561482b9d4";

// The JSON log lines of `lines` whose "event" is `name`.
inline std::vector<nlohmann::json> events_named(const std::vector<std::string>& lines,
                                                std::string_view name) {
  std::vector<nlohmann::json> out;
  for (const std::string& line : lines) {
    nlohmann::json parsed = nlohmann::json::parse(line);
    if (parsed.value("event", "") == name) out.push_back(std::move(parsed));
  }
  return out;
}

// ------------------------------------------------------------ config documents --

// Captures every log line (debug and up) for as long as it lives (any thread may log); restores
// the default sink and forgets registered secrets on destruction.
class LogCapture {
 public:
  LogCapture() {
    core::configure_logging({core::LogLevel::debug, [this](std::string_view line) {
                               std::lock_guard lock(mutex_);
                               lines_.emplace_back(line);
                               changed_.notify_all();
                             }});
  }
  ~LogCapture() {
    core::configure_logging({});
    core::forget_all_secrets();
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<nlohmann::json> events(std::string_view name) const {
    std::lock_guard lock(mutex_);
    return events_named(lines_, name);
  }

  // Waits until an event named `name` matching pred has been logged.
  std::optional<nlohmann::json> wait_for(
      std::string_view name, const std::function<bool(const nlohmann::json&)>& pred = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(3)) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;
    while (true) {
      for (; checked < lines_.size(); ++checked) {
        nlohmann::json parsed = nlohmann::json::parse(lines_[checked]);
        if (parsed.value("event", "") == name && (!pred || pred(parsed))) return parsed;
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }

  std::string all() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const std::string& line : lines_) out += line + "\n";
    return out;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// An agent's JobUpdate for run_id: job "nightly", 40 %, "dumping".
inline backup::v1::JobUpdate job_update(const std::string& run_id, backup::v1::JobStatus status) {
  backup::v1::JobUpdate update;
  update.set_job_id("nightly");
  update.set_run_id(run_id);
  update.set_status(status);
  update.set_progress_percent(40);
  update.set_current_step("dumping");
  return update;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// Replaces the 1-based line `line`.
inline void set_line(std::vector<std::string>& lines, int line, std::string text) {
  lines.at(static_cast<std::size_t>(line - 1)) = std::move(text);
}

// One parametrized config validation case: an edit of the base document and its error.
struct ConfigErrorCase {
  std::string name;
  std::function<void(std::vector<std::string>&)> edit;
  std::string expected;  // "$DIR" stands for the test directory
  bool prefix_only = false;
};

// Keeps ctest's test names readable (gtest would otherwise hex-dump the struct).
inline void PrintTo(const ConfigErrorCase& error_case, std::ostream* out) {
  *out << error_case.name;
}

// A test with a TempDir holding the TLS files a config names; forgets registered secrets.
template <typename Base = ::testing::Test>
class ConfigDirTest : public Base {
 protected:
  void SetUp() override {
    write_text(dir_.path() / "server.crt", "cert");
    write_text(dir_.path() / "server.key", "key");
  }
  void TearDown() override { core::forget_all_secrets(); }
  TempDir dir_;
};

// Applies the case's edit to `lines`, parses them as cp.yaml and hands the ConfigError and the
// expected message ($DIR expanded) to `check`; fails if parsing succeeds.
inline void expect_config_error(
    const ConfigErrorCase& error_case, std::vector<std::string> lines,
    const std::filesystem::path& dir,
    const std::function<void(const ConfigError&, const std::string& expected)>& check) {
  error_case.edit(lines);
  std::string expected = error_case.expected;
  if (const std::size_t at = expected.find("$DIR"); at != std::string::npos) {
    expected.replace(at, 4, dir.string());
  }
  try {
    parse_server_config(join_lines(lines), "cp.yaml", dir);
    FAIL() << "no error for:\n" << join_lines(lines);
  } catch (const ConfigError& e) {
    check(e, expected);
  }
}

// ------------------------------------------------------------------ metrics --

// The value of the exposition sample line "<series> <value>" in text, or -1 if there is none.
inline double metric_sample(const std::string& text, const std::string& series) {
  const std::string start = series + " ";
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? end : end - at);
    if (line.starts_with(start)) return std::stod(line.substr(start.size()));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return -1;
}

// Runs Prometheus' own parser and linter on an exposition: "" if it is clean, else what
// promtool said; nullopt if promtool is not installed (it comes with the Debian prometheus
// package that scripts/setup.sh installs).
inline std::optional<std::string> promtool_problems(const std::string& exposition) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return std::nullopt;
  const TempDir dir;
  write_text(dir.path() / "metrics.txt", exposition);
  const std::string command = "promtool check metrics < " + (dir.path() / "metrics.txt").string() +
                              " > " + (dir.path() / "out.txt").string() + " 2>&1";
  const int status = std::system(command.c_str());
  const std::string output = read_text(dir.path() / "out.txt");
  return status == 0 ? std::string() : "exit status " + std::to_string(status) + ": " + output;
}

}  // namespace backupy::controlplane::testing
