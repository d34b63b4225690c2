#pragma once
// The self-update requests operators sent (POST /v1/agents/{id}/self-update) and the agents'
// answers to them (private to the package). An agent answers a SelfUpdate with an Ack carrying
// the SelfUpdate envelope's correlation id: at once when it refuses (disabled, no release key,
// not newer, ...), or after download and verification (accepted, or why not); answer() matches
// it here. Kept in memory only, the newest kMaxPerAgent per agent: they do not survive a restart
// of the control plane (an Ack arriving afterwards is only logged as "ack"). Touched only from
// the server's io_context thread, like the rest of ServerState.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane::detail {

struct SelfUpdateRequest {
  std::string correlation_id;
  std::string target_version;
  // binary_url without its query string and fragment: presigned URLs carry their signature
  // there, and this is what the API answers and the log show.
  std::string binary_url;
  bool force = false;
  std::uint64_t sent_ms = 0;
  bool answered = false;
  bool accepted = false;  // meaningful once answered
  std::string reason;     // the agent's reason, once answered
  std::uint64_t answered_ms = 0;
};

class SelfUpdateRequests {
 public:
  static constexpr std::size_t kMaxPerAgent = 20;

  // Remembers a request sent to agent_id (newest first); the oldest beyond kMaxPerAgent is
  // forgotten.
  void record(const std::string& agent_id, SelfUpdateRequest request);

  // Fills in the answer of agent_id's request with ack's correlation id and returns it; nullptr
  // if there is none (an Ack of another command, or of a forgotten request) or it was already
  // answered (the first answer stands).
  const SelfUpdateRequest* answer(std::string_view agent_id, const backup::v1::Ack& ack,
                                  std::uint64_t now_ms);

  // agent_id's requests, newest first (empty if it has none).
  const std::deque<SelfUpdateRequest>& of(std::string_view agent_id) const;

 private:
  std::map<std::string, std::deque<SelfUpdateRequest>, std::less<>> by_agent_;
};

}  // namespace backupy::controlplane::detail
