#pragma once
// A counting gate whose limit can change while runs wait (max_parallel_jobs
// comes from the live config). Waiting honours a stop token, so a cancelled
// or shut-down run leaves the queue at once.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace backupy::runs::detail {

class SlotGate {
 public:
  // limit() is read under the gate's lock each time a waiter checks; values
  // below 1 count as 1.
  explicit SlotGate(std::function<unsigned()> limit);

  class Slot {
   public:
    explicit Slot(SlotGate* gate) : gate_(gate) {}
    Slot(Slot&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() { release(); }
    void release();

   private:
    SlotGate* gate_;
  };

  // Blocks until a slot is free (FIFO is not guaranteed); nullopt if stop was
  // requested first.
  std::optional<Slot> acquire(std::stop_token stop);
  // Wakes waiters after the limit grew.
  void limit_changed();
  unsigned in_use() const;

 private:
  std::function<unsigned()> limit_;
  mutable std::mutex mutex_;
  std::condition_variable_any cv_;
  unsigned in_use_ = 0;
};

}  // namespace backupy::runs::detail
