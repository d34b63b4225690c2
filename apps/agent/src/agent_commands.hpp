#pragma once
// Routes server-driven job control from the session to the part of the agent
// that owns it: RunBackup and CancelJob to the run manager, RunHealthCheck to the
// health check scheduler (its result goes through the outbox), SelfUpdate to the
// self-update control. Commands this build does not know are answered honestly
// with Ack{accepted=false, reason} instead of being dropped.
#include "backupy/health/health_check_scheduler.hpp"
#include "backupy/runs/run_manager.hpp"
#include "backupy/session/command_handler.hpp"
#include "self_update_control.hpp"

namespace backupy::agent {

class AgentCommands final : public session::CommandHandler {
 public:
  AgentCommands(runs::RunManager& runs, health::HealthCheckScheduler& health_checks,
                SelfUpdateControl& self_update)
      : runs_(runs), health_checks_(health_checks), self_update_(self_update) {}
  std::optional<backup::v1::Ack> handle(const backup::v1::Envelope& envelope) override;

 private:
  backup::v1::Ack run_health_check(const backup::v1::RunHealthCheck& command);

  runs::RunManager& runs_;
  health::HealthCheckScheduler& health_checks_;
  SelfUpdateControl& self_update_;
};

}  // namespace backupy::agent
