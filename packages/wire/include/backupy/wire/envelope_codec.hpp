#pragma once
// Encoding and defensive decoding of backup.v1.Envelope frames.
//
// Decoding never throws: every frame the server sends is either a usable
// server->agent envelope or a precise reason why it is skipped. The session
// logs the reason and carries on; bad input never kills the agent.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "backup/v1/agent.pb.h"

namespace backupy::wire {

using backup::v1::Envelope;

// Stable lower_snake name of the payload ("register_ack", "ping", ...),
// "none" when unset.
std::string_view payload_name(Envelope::PayloadCase payload);

// Tag ranges of the contract: agent->server 10-49, server->agent 50-99.
bool is_agent_to_server(Envelope::PayloadCase payload);
bool is_server_to_agent(Envelope::PayloadCase payload);

struct Rejected {
  enum class Kind { malformed, empty, unknown_member, wrong_direction };
  Kind kind;
  std::string reason;  // e.g. "unknown payload member 77 (newer server?)"
  // The frame as parsed, for every kind but malformed: a receiver that answers these frames
  // instead of skipping them (the control plane logs them with their seq and payload name)
  // needs what they carried.
  std::optional<Envelope> envelope;
};

// Parses a binary frame from the server.
std::variant<Envelope, Rejected> decode_server_frame(std::string_view frame);
// Parses a binary frame from an agent (used by the control plane).
std::variant<Envelope, Rejected> decode_agent_frame(std::string_view frame);

// Stamps outgoing envelopes with the per-direction monotonic seq and the
// sender clock, then serializes them. One instance per connection.
class EnvelopeStamper {
 public:
  std::string encode(Envelope& envelope);
  std::uint64_t last_seq() const { return seq_; }

 private:
  std::uint64_t seq_ = 0;
};

}  // namespace backupy::wire
