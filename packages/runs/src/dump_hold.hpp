#pragma once
// Stops new dumps from starting, race-free: the agent holds them before it switches binaries
// (self-update), then waits for the runs already dumping to finish. A worker enters its dump
// through enter(), under the same lock hold() takes, so once hold() has returned every run is
// either visibly started (its journal row says running) or waiting here, still queued.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stop_token>

namespace backupy::runs::detail {

class DumpHold {
 public:
  // Blocks while held; then runs start() under the lock and returns true. False, without
  // running start(), when stop was requested first.
  bool enter(std::stop_token stop, const std::function<void()>& start);
  // From now on enter() blocks (until stop). There is no release: the process is switching.
  void hold();

 private:
  std::mutex mutex_;
  std::condition_variable_any released_;
  bool held_ = false;
};

}  // namespace backupy::runs::detail
