#pragma once
// Docker discovery in the agent (docs/architecture.md, "Discovery"): the
// DiscoveryService of packages/discovery, started unless
// BACKUPY_DISABLE_DISCOVERY is set, with its reports moved from its worker
// thread to the control thread.
#include <functional>
#include <memory>

#include "backup/v1/agent.pb.h"
#include "backupy/config/bootstrap.hpp"
#include "backupy/discovery/discovery_service.hpp"
#include "backupy/session/result_reporter.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::agent {

// nullptr when discovery is disabled. Otherwise the started service: each
// report is posted to io and handed to on_report there (on the control
// thread). Waits up to 2 s for the start-up pass, so that the first Register
// can carry Register.docker_version; a missing socket fails that pass at once.
std::unique_ptr<discovery::DiscoveryService> start_discovery(
    const config::BootstrapConfig& bootstrap, boost::asio::io_context& io,
    std::function<void(backup::v1::DiscoveryReport)> on_report);

// Queues the report in the durable outbox (control thread). A failure to
// queue is logged: the next pass (at the latest in an hour) reports again.
void queue_discovery_report(session::ResultReporter& reporter, backup::v1::DiscoveryReport report);

}  // namespace backupy::agent
