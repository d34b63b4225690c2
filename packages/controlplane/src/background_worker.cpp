#include "background_worker.hpp"

namespace backupy::controlplane::detail {

BackgroundWorker::BackgroundWorker(Post post_to_server)
    : post_(std::move(post_to_server)), thread_([this] { loop(); }) {}

BackgroundWorker::~BackgroundWorker() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  wake_.notify_one();
  thread_.join();
}

void BackgroundWorker::submit(Task work, Task done) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.emplace_back(std::move(work), std::move(done));
  }
  wake_.notify_one();
}

void BackgroundWorker::loop() {
  while (true) {
    std::pair<Task, Task> next;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      next.first();
    } catch (...) {
      // Tasks report their own failures (they know what to say); one that throws anyway must
      // not take the thread, and every later check with it, down. done() still runs.
    }
    post_(std::move(next.second));
  }
}

}  // namespace backupy::controlplane::detail
