#pragma once
// Delivery acknowledgement bookkeeping (pure logic, no I/O).
//
// Agents tag durable results (job updates, backup completions, ...) with a persistent,
// monotonic Envelope.outbox_seq and replay unacknowledged ones after a reconnect. The server
// remembers, per agent id and for the life of the process, the highest outbox_seq it has
// processed: anything at or below it is a replay (logged as a duplicate, not as a result).
//
// DeliveryAck{through_outbox_seq} is cumulative. The agent sends its outbox in order over one
// connection and a WebSocket connection delivers in order, so "highest processed" means
// "everything up to here was received". If the sequence jumps (an entry never arrived) the
// server still acknowledges the highest it received and logs the gap: the cumulative ack
// relies on in-order delivery within one connection.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace backupy::controlplane {

class DeliveryLedger {
 public:
  enum class Outcome { not_outbox, fresh, duplicate };
  struct Result {
    Outcome outcome = Outcome::not_outbox;
    // For a fresh entry that skipped sequence numbers: the first and last missing one
    // (both 0 when there is no gap, or for the first entry this process sees from the agent).
    std::uint64_t gap_first = 0;
    std::uint64_t gap_last = 0;
  };

  // Records that an envelope with outbox_seq arrived from agent_id (0 = not an outbox entry).
  Result record(const std::string& agent_id, std::uint64_t outbox_seq);
  // Highest outbox_seq processed for the agent (0 if none).
  std::uint64_t highest(const std::string& agent_id) const;

 private:
  std::map<std::string, std::uint64_t, std::less<>> highest_;
};

// Decides when to send a DeliveryAck: at most one per kMaxDelay or per kMaxBatch entries,
// whichever comes first, so a long replay is acknowledged steadily. Duplicates count as
// entries too: the agent replays them because it missed an ack, so it needs a fresh one.
class AckCoalescer {
 public:
  static constexpr std::size_t kMaxBatch = 100;
  static constexpr std::chrono::milliseconds kMaxDelay{20};

  enum class Action {
    none,       // an ack is already scheduled
    send_now,   // send a DeliveryAck now, then call on_sent()
    arm_timer,  // start a kMaxDelay timer and call on_timer() when it fires
  };

  explicit AckCoalescer(std::size_t max_batch = kMaxBatch) : max_batch_(max_batch) {}

  Action on_entry();
  // The timer fired; true = send a DeliveryAck now (then call on_sent()).
  bool on_timer();
  void on_sent() { pending_ = 0; }

  std::size_t pending() const { return pending_; }
  bool timer_armed() const { return timer_armed_; }

 private:
  std::size_t max_batch_;
  std::size_t pending_ = 0;
  bool timer_armed_ = false;
};

}  // namespace backupy::controlplane
