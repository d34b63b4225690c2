#include "self_update_requests.hpp"

namespace backupy::controlplane::detail {

void SelfUpdateRequests::record(const std::string& agent_id, SelfUpdateRequest request) {
  std::deque<SelfUpdateRequest>& requests = by_agent_[agent_id];
  requests.push_front(std::move(request));
  while (requests.size() > kMaxPerAgent) requests.pop_back();
}

const SelfUpdateRequest* SelfUpdateRequests::answer(std::string_view agent_id,
                                                    const backup::v1::Ack& ack,
                                                    std::uint64_t now_ms) {
  const auto it = by_agent_.find(agent_id);
  if (it == by_agent_.end() || ack.correlation_id().empty()) return nullptr;
  for (SelfUpdateRequest& request : it->second) {
    if (request.correlation_id != ack.correlation_id()) continue;
    if (request.answered) return nullptr;
    request.answered = true;
    request.accepted = ack.accepted();
    request.reason = ack.reason();
    request.answered_ms = now_ms;
    return &request;
  }
  return nullptr;
}

const std::deque<SelfUpdateRequest>& SelfUpdateRequests::of(std::string_view agent_id) const {
  static const std::deque<SelfUpdateRequest> kNone;
  const auto it = by_agent_.find(agent_id);
  return it == by_agent_.end() ? kNone : it->second;
}

}  // namespace backupy::controlplane::detail
