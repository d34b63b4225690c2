#pragma once
// Capability strings exchanged in Register.capabilities (agent) and
// RegisterAck.server_capabilities (server). See docs/protocol.md.
#include <string_view>

namespace backupy::wire {

// Our addition: the server acknowledges durable results with DeliveryAck
// (tag 58), cumulatively by Envelope.outbox_seq.
inline constexpr std::string_view kCapDeliveryAck = "delivery_ack.v1";

// Our addition: the agent schedules its own cron jobs (wrapping each run's DEK
// to AgentConfig.key_wrapping and asking for upload credentials with
// UploadCredsRequest); a server that lists it stops sending scheduled
// RunBackups to that agent. Used only when both sides list it.
inline constexpr std::string_view kCapAgentCron = "agent_cron.v1";

// v1 (the contract lists it): the agent runs Docker discovery and sends
// DiscoveryReports (at start-up, after container start/stop events, hourly).
// Advertised unless BACKUPY_DISABLE_DISCOVERY is set.
inline constexpr std::string_view kCapDockerDiscovery = "docker_discovery";

}  // namespace backupy::wire
