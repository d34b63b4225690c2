#include "agent_commands.hpp"

#include "backupy/core/log.hpp"

namespace backupy::agent {
namespace {
const core::Logger kLog("commands");
}

std::optional<backup::v1::Ack> AgentCommands::handle(const backup::v1::Envelope& envelope) {
  switch (envelope.payload_case()) {
    case backup::v1::Envelope::kRunBackup: return runs_.run_backup(envelope.run_backup());
    case backup::v1::Envelope::kCancelJob: return runs_.cancel_job(envelope.cancel_job().job_id());
    default: break;
  }
  backup::v1::Ack ack;
  ack.set_accepted(false);
  switch (envelope.payload_case()) {
    case backup::v1::Envelope::kRunHealthCheck:
      ack.set_reason("this agent build cannot run health checks yet");
      break;
    case backup::v1::Envelope::kSelfUpdate:
      ack.set_reason("self-update is not supported by this agent build");
      break;
    default: ack.set_reason("unsupported command");
  }
  kLog.warn("refused a command", {{"reason", ack.reason()}});
  return ack;
}

}  // namespace backupy::agent
