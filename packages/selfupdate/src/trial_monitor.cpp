#include "backupy/selfupdate/trial_monitor.hpp"

namespace backupy::selfupdate {

TrialMonitor::TrialMonitor(std::chrono::system_clock::time_point deadline,
                           std::chrono::milliseconds grace, std::function<void()> on_expired,
                           std::function<void()> on_wedged)
    : thread_([this, deadline, grace, on_expired = std::move(on_expired),
               on_wedged = std::move(on_wedged)](std::stop_token stop) {
        std::unique_lock lock(mutex_);
        changed_.wait_until(lock, stop, deadline, [this] { return outcome_ != Outcome::waiting; });
        if (outcome_ != Outcome::waiting || stop.stop_requested()) return;
        outcome_ = Outcome::expired;
        lock.unlock();
        on_expired();
        lock.lock();
        // Only a stop request ends this wait: nothing else changes the outcome any more.
        changed_.wait_for(lock, stop, grace, [] { return false; });
        if (stop.stop_requested()) return;
        lock.unlock();
        on_wedged();
      }) {}

TrialMonitor::~TrialMonitor() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
}

bool TrialMonitor::confirm() {
  {
    std::lock_guard lock(mutex_);
    if (outcome_ == Outcome::expired) return false;
    outcome_ = Outcome::confirmed;
  }
  changed_.notify_all();
  return true;
}

}  // namespace backupy::selfupdate
