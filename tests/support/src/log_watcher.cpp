#include "backupy/test_support/log_watcher.hpp"

#include <fstream>
#include <thread>

namespace backupy::test_support {

void LogWatcher::poll() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  offset_ += chunk.size();
  raw_ += chunk;
  partial_ += chunk;
  std::size_t start = 0;
  for (std::size_t nl = partial_.find('\n'); nl != std::string::npos;
       nl = partial_.find('\n', start)) {
    const std::string line = partial_.substr(start, nl - start);
    start = nl + 1;
    auto parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    lines_.push_back(parsed.is_discarded() ? Json{{"raw", line}} : parsed);
  }
  partial_.erase(0, start);
}

std::optional<Json> LogWatcher::wait_for(const LinePredicate& match,
                                         std::chrono::milliseconds timeout, std::size_t from) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t next = from;
  for (;;) {
    poll();
    for (; next < lines_.size(); ++next) {
      if (match(lines_[next])) return lines_[next];
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool LogWatcher::wait_for_count(const LinePredicate& match, std::size_t n,
                                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (count(match) < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::size_t LogWatcher::count(const LinePredicate& match) {
  poll();
  std::size_t n = 0;
  for (const auto& line : lines_) n += match(line) ? 1 : 0;
  return n;
}

std::vector<Json> LogWatcher::all(const LinePredicate& match) {
  poll();
  std::vector<Json> out;
  for (const auto& line : lines_) {
    if (match(line)) out.push_back(line);
  }
  return out;
}

std::string LogWatcher::dump_tail(std::size_t count) const {
  std::string out;
  const std::size_t start = lines_.size() > count ? lines_.size() - count : 0;
  for (std::size_t i = start; i < lines_.size(); ++i) out += lines_[i].dump() + "\n";
  return out;
}

LinePredicate event_is(std::string event) {
  return [event = std::move(event)](const Json& line) {
    return line.is_object() && line.value("event", "") == event;
  };
}

LinePredicate msg_is(std::string msg) {
  return [msg = std::move(msg)](const Json& line) {
    return line.is_object() && line.value("msg", "") == msg;
  };
}

LinePredicate msg_contains(std::string fragment) {
  return [fragment = std::move(fragment)](const Json& line) {
    return line.is_object() && line.value("msg", "").find(fragment) != std::string::npos;
  };
}

LinePredicate both(LinePredicate a, LinePredicate b) {
  return [a = std::move(a), b = std::move(b)](const Json& line) { return a(line) && b(line); };
}

}  // namespace backupy::test_support
