#pragma once
// Agent results that only the catalog keeps (private to the package): health check results and
// log events go to their bounded tables. Run results go through note_run_result
// (operator_endpoint.hpp).
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "server_state.hpp"

namespace backupy::controlplane::detail {

// Records a HealthCheckResult or LogEvent from agent_id; other payloads and a server without a
// catalog record nothing. Never throws for a catalog failure (it is logged).
void note_agent_result(ServerState& state, std::string_view agent_id,
                       const backup::v1::Envelope& envelope);

}  // namespace backupy::controlplane::detail
