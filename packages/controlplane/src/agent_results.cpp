#include "agent_results.hpp"

#include "backupy/core/time.hpp"
#include "catalog.hpp"

namespace backupy::controlplane::detail {

void note_agent_result(ServerState& state, std::string_view agent_id,
                       const backup::v1::Envelope& envelope) {
  if (!state.catalog) return;
  using backup::v1::Envelope;
  if (envelope.payload_case() == Envelope::kHealthCheckResult) {
    state.catalog->record_health_result(agent_id, core::now_ms(), envelope.health_check_result());
  } else if (envelope.payload_case() == Envelope::kLogEvent) {
    state.catalog->record_log_event(agent_id, core::now_ms(), envelope.log_event());
  }
}

}  // namespace backupy::controlplane::detail
