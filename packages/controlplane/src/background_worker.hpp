#pragma once
// One thread for the control plane's blocking chores (private to the package): object checks
// and deletions against the storage (a presigned HEAD/DELETE can take seconds), which must not
// stall the server thread and its agent sessions.
//
// submit(work, done): work runs on the worker thread, in submission order; done then runs on
// the server thread (through the post function given at construction). The destructor drops
// work not yet started, finishes the one in progress and joins — it must run before the
// server's io_context is destroyed, so that no done() is posted to a dead context.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace backupy::controlplane::detail {

class BackgroundWorker {
 public:
  using Task = std::function<void()>;
  using Post = std::function<void(Task)>;  // hands a task to the server thread

  explicit BackgroundWorker(Post post_to_server);
  ~BackgroundWorker();
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  void submit(Task work, Task done);

 private:
  void loop();

  Post post_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<Task, Task>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace backupy::controlplane::detail
