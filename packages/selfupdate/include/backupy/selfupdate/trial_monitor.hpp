#pragma once
// The deadline of a candidate binary's trial, on a thread of its own: a control thread that is
// wedged (the very failure a trial exists to catch) cannot stop the rollback from firing.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace backupy::selfupdate {

class TrialMonitor {
 public:
  // on_expired runs once, on the monitor's thread, if confirm() was not called by deadline: it
  // starts the orderly rollback (which ends this process image, or destroys the monitor). If
  // the monitor still exists `grace` later, the orderly path is wedged and on_wedged runs (it
  // rolls back by force).
  TrialMonitor(std::chrono::system_clock::time_point deadline, std::chrono::milliseconds grace,
               std::function<void()> on_expired, std::function<void()> on_wedged);
  ~TrialMonitor();  // stops waiting; no callback starts after this returns
  TrialMonitor(const TrialMonitor&) = delete;
  TrialMonitor& operator=(const TrialMonitor&) = delete;

  // The candidate proved itself: on_expired will not run. Returns false when it is too late
  // (the deadline passed first and on_expired ran or is running). Any thread.
  bool confirm();

 private:
  enum class Outcome { waiting, confirmed, expired };
  std::mutex mutex_;
  std::condition_variable_any changed_;
  Outcome outcome_ = Outcome::waiting;
  std::jthread thread_;  // last: started once the members above exist
};

}  // namespace backupy::selfupdate
