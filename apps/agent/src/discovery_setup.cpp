#include "discovery_setup.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <utility>

#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"

namespace backupy::agent {
namespace {

const core::Logger kLog("agent");

// Long enough for a healthy daemon's /version and container list, short
// enough not to matter when it hangs (Register then carries no version;
// the next one will).
constexpr std::chrono::milliseconds kFirstPassWait{2000};

}  // namespace

std::unique_ptr<discovery::DiscoveryService> start_discovery(
    const config::BootstrapConfig& bootstrap, boost::asio::io_context& io,
    std::function<void(backup::v1::DiscoveryReport)> on_report) {
  if (!bootstrap.discovery_enabled) {
    kLog.info("Docker discovery disabled (BACKUPY_DISABLE_DISCOVERY)");
    return nullptr;
  }
  auto service = std::make_unique<discovery::DiscoveryService>(
      discovery::DiscoveryServiceOptions{.socket = bootstrap.docker_socket},
      [&io, on_report = std::move(on_report)](backup::v1::DiscoveryReport report) {
        boost::asio::post(io, [on_report, report = std::move(report)]() mutable {
          on_report(std::move(report));
        });
      });
  service->start();
  service->wait_for_first_pass(kFirstPassWait);
  return service;
}

void queue_discovery_report(session::ResultReporter& reporter, backup::v1::DiscoveryReport report) {
  backup::v1::Envelope envelope;
  *envelope.mutable_discovery_report() = std::move(report);
  try {
    reporter.report(std::move(envelope));
  } catch (const std::exception& e) {
    kLog.error("cannot queue a discovery report", {{"error", core::redact(e.what())}});
  }
}

}  // namespace backupy::agent
