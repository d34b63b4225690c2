#include "backupy/controlplane/delivery_tracker.hpp"

namespace backupy::controlplane {

DeliveryLedger::Result DeliveryLedger::record(const std::string& agent_id,
                                              std::uint64_t outbox_seq) {
  Result result;
  if (outbox_seq == 0) return result;
  auto [it, fresh_agent] = highest_.try_emplace(agent_id, 0);
  if (outbox_seq <= it->second) {
    result.outcome = Outcome::duplicate;
    return result;
  }
  result.outcome = Outcome::fresh;
  if (!fresh_agent && it->second != 0 && outbox_seq > it->second + 1) {
    result.gap_first = it->second + 1;
    result.gap_last = outbox_seq - 1;
  }
  it->second = outbox_seq;
  return result;
}

std::uint64_t DeliveryLedger::highest(const std::string& agent_id) const {
  auto it = highest_.find(agent_id);
  return it == highest_.end() ? 0 : it->second;
}

AckCoalescer::Action AckCoalescer::on_entry() {
  ++pending_;
  if (pending_ >= max_batch_) return Action::send_now;
  if (timer_armed_) return Action::none;
  timer_armed_ = true;
  return Action::arm_timer;
}

bool AckCoalescer::on_timer() {
  timer_armed_ = false;
  return pending_ > 0;
}

}  // namespace backupy::controlplane
