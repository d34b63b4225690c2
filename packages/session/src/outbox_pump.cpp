#include "backupy/session/outbox_pump.hpp"

namespace backupy::session {

OutboxPump::OutboxPump(state::Outbox& outbox, std::size_t window)
    : outbox_(outbox), window_(window) {}

void OutboxPump::on_connected(bool ack_mode) {
  connected_ = true;
  ack_mode_ = ack_mode;
  cursor_ = 0;
  in_flight_.clear();
}

void OutboxPump::on_disconnected() {
  connected_ = false;
  in_flight_.clear();
}

std::vector<state::OutboxEntry> OutboxPump::next_batch() {
  if (!connected_ || in_flight_.size() >= window_) return {};
  auto batch = outbox_.read_after(cursor_, window_ - in_flight_.size());
  for (const auto& entry : batch) in_flight_.push_back(entry.seq);
  if (!batch.empty()) cursor_ = batch.back().seq;
  return batch;
}

void OutboxPump::on_written(std::uint64_t seq, bool ok) {
  if (!connected_ || !ok || ack_mode_) return;
  // Writes complete in order, so everything up to seq has been written.
  outbox_.remove_through(seq);
  while (!in_flight_.empty() && in_flight_.front() <= seq) in_flight_.pop_front();
}

void OutboxPump::on_delivery_ack(std::uint64_t through_seq) {
  if (through_seq == 0) return;
  outbox_.remove_through(through_seq);
  while (!in_flight_.empty() && in_flight_.front() <= through_seq) in_flight_.pop_front();
}

}  // namespace backupy::session
