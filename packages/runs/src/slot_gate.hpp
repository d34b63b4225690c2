#pragma once
// A counting gate whose limit can change while runs wait (max_parallel_jobs
// comes from the live config). Slots are granted first come, first served:
// a waiter holds a Ticket, taken when its run became ready, and only the
// oldest ticket may take a free slot. Waiting honours a stop token, so a
// cancelled or shut-down run leaves the queue at once (and the next ticket
// moves up).
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
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

  // A place in the line. Dropping it (without acquiring) leaves the line.
  class Ticket {
   public:
    Ticket(SlotGate* gate, std::uint64_t number) : gate_(gate), number_(number) {}
    Ticket(Ticket&& other) noexcept
        : gate_(std::exchange(other.gate_, nullptr)), number_(other.number_) {}
    Ticket& operator=(Ticket&& other) noexcept {
      if (this != &other) {
        leave();
        gate_ = std::exchange(other.gate_, nullptr);
        number_ = other.number_;
      }
      return *this;
    }
    Ticket(const Ticket&) = delete;
    ~Ticket() { leave(); }

   private:
    friend class SlotGate;
    void leave();
    SlotGate* gate_;
    std::uint64_t number_;
  };

  // Joins the end of the line (the run is ready to take a slot).
  Ticket enqueue();
  // Blocks until ticket is the oldest in line and a slot is free; nullopt if
  // stop was requested first. The ticket leaves the line either way.
  std::optional<Slot> acquire(Ticket ticket, std::stop_token stop);
  // enqueue() then acquire().
  std::optional<Slot> acquire(std::stop_token stop) { return acquire(enqueue(), stop); }
  // Wakes waiters after the limit grew.
  void limit_changed();
  unsigned in_use() const;
  std::size_t waiting() const;  // tickets in line

 private:
  std::function<unsigned()> limit_;
  mutable std::mutex mutex_;
  std::condition_variable_any cv_;
  unsigned in_use_ = 0;
  std::uint64_t next_ticket_ = 0;
  std::set<std::uint64_t> line_;  // ticket numbers waiting, oldest first
};

}  // namespace backupy::runs::detail
