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

std::optional<SlotGate::Slot> SlotGate::acquire(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  const bool free = cv_.wait(lock, stop, [this] { return in_use_ < std::max(1u, limit_()); });
  // wait() returns the predicate even after a stop: a run stopped before it
  // got here must not take a slot because one happened to be free.
  if (!free || stop.stop_requested()) return std::nullopt;
  ++in_use_;
  return Slot(this);
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

}  // namespace backupy::runs::detail
