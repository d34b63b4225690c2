#include "agent_commands.hpp"

#include "backupy/core/log.hpp"

namespace backupy::agent {
namespace {
const core::Logger kLog("commands");
}

backup::v1::Ack AgentCommands::run_health_check(const backup::v1::RunHealthCheck& command) {
  backup::v1::Ack ack;
  if (health_checks_.run_now(command.check_id())) {
    ack.set_accepted(true);  // the HealthCheckResult follows through the outbox
    return ack;
  }
  ack.set_accepted(false);
  ack.set_reason("no health check \"" + command.check_id() + "\" in this agent's configuration");
  kLog.warn("refused a command", {{"reason", ack.reason()}});
  return ack;
}

std::optional<backup::v1::Ack> AgentCommands::handle(const backup::v1::Envelope& envelope) {
  switch (envelope.payload_case()) {
    case backup::v1::Envelope::kRunBackup: return runs_.run_backup(envelope.run_backup());
    case backup::v1::Envelope::kCancelJob: return runs_.cancel_job(envelope.cancel_job().job_id());
    case backup::v1::Envelope::kRunHealthCheck:
      return run_health_check(envelope.run_health_check());
    case backup::v1::Envelope::kSelfUpdate: return self_update_.handle(envelope);
    default: break;
  }
  backup::v1::Ack ack;
  ack.set_accepted(false);
  ack.set_reason("unsupported command");
  kLog.warn("refused a command", {{"reason", ack.reason()}});
  return ack;
}

}  // namespace backupy::agent
