#pragma once
// Decides which durable outbox entries go on the wire next, and when they may
// leave the outbox.
//
// Entries are sent strictly in seq order with a bounded window of entries in
// flight, so a 10,000-entry backlog streams at socket speed without flooding
// the write queue, and live traffic (heartbeats, acks) interleaves with it.
//   - v1 server: an entry is removed once it has been written to the socket.
//   - server with "delivery_ack.v1": removed on DeliveryAck (cumulative).
// After a reconnect everything still stored is sent again from the start;
// the server de-duplicates by Envelope.outbox_seq.
// Control-thread only (not thread-safe).
#include <cstdint>
#include <deque>
#include <vector>

#include "backupy/state/outbox.hpp"

namespace backupy::session {

class OutboxPump {
 public:
  explicit OutboxPump(state::Outbox& outbox, std::size_t window = 256);

  void on_connected(bool ack_mode);
  void on_disconnected();

  // Entries to send now (possibly none). Caller sends them in order.
  std::vector<state::OutboxEntry> next_batch();
  // A send finished. ok=false means the connection is going away.
  void on_written(std::uint64_t seq, bool ok);
  void on_delivery_ack(std::uint64_t through_seq);

  std::size_t in_flight() const { return in_flight_.size(); }
  bool ack_mode() const { return ack_mode_; }

 private:
  state::Outbox& outbox_;
  std::size_t window_;
  bool connected_ = false;
  bool ack_mode_ = false;
  std::uint64_t cursor_ = 0;             // highest seq handed out on this connection
  std::deque<std::uint64_t> in_flight_;  // handed out, not yet released
};

}  // namespace backupy::session
