#pragma once
// Server-driven job control, handed from the session to whoever runs jobs.
//
// The session owns the connection; commands are answered either directly (the
// returned Ack) or later through the ResultReporter (JobUpdate,
// HealthCheckResult). Runs belong to the process, never to a connection.
#include <optional>

#include "backup/v1/agent.pb.h"

namespace backupy::session {

class CommandHandler {
 public:
  virtual ~CommandHandler() = default;
  // envelope carries one of run_backup, cancel_job, run_health_check,
  // self_update. Returns an Ack to send now, or nullopt.
  virtual std::optional<backup::v1::Ack> handle(const backup::v1::Envelope& envelope) = 0;
};

}  // namespace backupy::session
