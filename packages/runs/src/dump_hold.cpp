#include "dump_hold.hpp"

namespace backupy::runs::detail {

bool DumpHold::enter(std::stop_token stop, const std::function<void()>& start) {
  std::unique_lock lock(mutex_);
  if (!released_.wait(lock, stop, [this] { return !held_; })) return false;
  start();
  return true;
}

void DumpHold::hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

}  // namespace backupy::runs::detail
