#pragma once
// Follows a JSON-lines log file written by a child process and waits for
// lines matching a predicate. Lines that are not JSON are kept as raw text.
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace backupy::test_support {

using Json = nlohmann::json;
using LinePredicate = std::function<bool(const Json&)>;

class LogWatcher {
 public:
  explicit LogWatcher(std::filesystem::path file) : file_(std::move(file)) {}

  // Reads any new complete lines.
  void poll();
  // Waits until a line (seen before or after the call) after index `from`
  // matches; returns it, or nullopt at the timeout.
  std::optional<Json> wait_for(const LinePredicate& match, std::chrono::milliseconds timeout,
                               std::size_t from = 0);
  // Waits until at least n lines match (true), or timeout passes (false).
  bool wait_for_count(const LinePredicate& match, std::size_t n, std::chrono::milliseconds timeout);
  // Number of matching lines so far (after poll()).
  std::size_t count(const LinePredicate& match);
  std::vector<Json> all(const LinePredicate& match);
  std::size_t size() const { return lines_.size(); }
  // The whole raw text seen so far (for "secret never appears" checks).
  const std::string& raw() const { return raw_; }
  std::string dump_tail(std::size_t lines = 40) const;

 private:
  std::filesystem::path file_;
  std::size_t offset_ = 0;
  std::string partial_;
  std::string raw_;
  std::vector<Json> lines_;
};

// Common predicates.
LinePredicate event_is(std::string event);  // {"event": event}
LinePredicate msg_is(std::string msg);      // {"msg": msg}
LinePredicate msg_contains(std::string fragment);
LinePredicate both(LinePredicate a, LinePredicate b);

}  // namespace backupy::test_support
