#include "backupy/session/refusing_command_handler.hpp"

#include "backupy/core/log.hpp"

namespace backupy::session {
namespace {
const core::Logger kLog("commands");
}

std::optional<backup::v1::Ack> RefusingCommandHandler::handle(
    const backup::v1::Envelope& envelope) {
  backup::v1::Ack ack;
  ack.set_accepted(false);
  switch (envelope.payload_case()) {
    case backup::v1::Envelope::kRunBackup: {
      const auto& run = envelope.run_backup();
      const std::string reason = "this agent build cannot run backups yet";
      kLog.error("refused a backup run",
                 {{"job_id", run.job_id()}, {"run_id", run.run_id()}, {"reason", reason}});
      backup::v1::Envelope update;
      auto* job = update.mutable_job_update();
      job->set_job_id(run.job_id());
      job->set_run_id(run.run_id());
      job->set_status(backup::v1::FAILED);
      job->set_error_message(reason);
      reporter_.report(std::move(update));
      return std::nullopt;
    }
    case backup::v1::Envelope::kCancelJob:
      ack.set_reason("no active run for job " + envelope.cancel_job().job_id());
      break;
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

}  // namespace backupy::session
