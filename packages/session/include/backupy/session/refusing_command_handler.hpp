#pragma once
// The command handler of an agent that cannot run jobs (yet): every command is
// answered honestly instead of being dropped. RunBackup is reported FAILED
// through the outbox (so the server never waits on a run that will not
// happen); the others get Ack{accepted=false, reason}.
#include "backupy/session/command_handler.hpp"
#include "backupy/session/result_reporter.hpp"

namespace backupy::session {

class RefusingCommandHandler final : public CommandHandler {
 public:
  explicit RefusingCommandHandler(ResultReporter& reporter) : reporter_(reporter) {}
  std::optional<backup::v1::Ack> handle(const backup::v1::Envelope& envelope) override;

 private:
  ResultReporter& reporter_;
};

}  // namespace backupy::session
