#pragma once
// Routes server-driven job control from the session to the part of the agent
// that owns it: RunBackup and CancelJob to the run manager. Commands this
// build cannot carry out (health checks, self-update: later issues) are
// answered honestly with Ack{accepted=false, reason} instead of being dropped.
#include "backupy/runs/run_manager.hpp"
#include "backupy/session/command_handler.hpp"

namespace backupy::agent {

class AgentCommands final : public session::CommandHandler {
 public:
  explicit AgentCommands(runs::RunManager& runs) : runs_(runs) {}
  std::optional<backup::v1::Ack> handle(const backup::v1::Envelope& envelope) override;

 private:
  runs::RunManager& runs_;
};

}  // namespace backupy::agent
