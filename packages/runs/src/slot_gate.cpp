#include "slot_gate.hpp"

#include <algorithm>
#include <utility>

namespace backupy::runs::detail {

SlotGate::SlotGate(std::function<unsigned()> limit) : limit_(std::move(limit)) {}

void SlotGate::Slot::release() {
  if (gate_ == nullptr) return;
  {
    std::lock_guard lock(gate_->mutex_);
    --gate_->in_use_;
  }
  gate_->cv_.notify_all();
  gate_ = nullptr;
}

void SlotGate::Ticket::leave() {
  if (gate_ == nullptr) return;
  {
    std::lock_guard lock(gate_->mutex_);
    gate_->line_.erase(number_);
  }
  // The ticket behind this one may be first now.
  gate_->cv_.notify_all();
  gate_ = nullptr;
}

SlotGate::Ticket SlotGate::enqueue() {
  std::lock_guard lock(mutex_);
  const std::uint64_t number = next_ticket_++;
  line_.insert(number);
  return Ticket(this, number);
}

std::optional<SlotGate::Slot> SlotGate::acquire(Ticket ticket, std::stop_token stop) {
  std::optional<Slot> slot;
  {
    std::unique_lock lock(mutex_);
    const std::uint64_t number = ticket.number_;
    const bool free = cv_.wait(lock, stop, [&] {
      const bool room = in_use_ < std::max(1u, limit_());  // always asks (tests count checks)
      return room && *line_.begin() == number;
    });
    // wait() returns the predicate even after a stop: a run stopped before it
    // got here must not take a slot because one happened to be free.
    if (free && !stop.stop_requested()) {
      ++in_use_;
      slot.emplace(this);
    }
    line_.erase(number);
    ticket.gate_ = nullptr;  // left the line above, under the lock
  }
  // The next in line may take another free slot (or the one not taken).
  cv_.notify_all();
  return slot;
}

void SlotGate::limit_changed() {
  // Taking the lock orders the notification after any waiter's predicate check.
  { std::lock_guard lock(mutex_); }
  cv_.notify_all();
}

unsigned SlotGate::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t SlotGate::waiting() const {
  std::lock_guard lock(mutex_);
  return line_.size();
}

}  // namespace backupy::runs::detail
