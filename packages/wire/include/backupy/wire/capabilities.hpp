#pragma once
// Capability strings exchanged in Register.capabilities (agent) and
// RegisterAck.server_capabilities (server). See docs/protocol.md.
#include <string_view>

namespace backupy::wire {

// Our addition: the server acknowledges durable results with DeliveryAck
// (tag 58), cumulatively by Envelope.outbox_seq.
inline constexpr std::string_view kCapDeliveryAck = "delivery_ack.v1";

}  // namespace backupy::wire
