#pragma once
// Validation of a server-sent AgentConfig before the agent applies it.
//
// A snapshot is applied whole or not at all: the agent checks everything,
// and on any problem keeps running the previous config and rejects the new one
// with an Ack whose reason lists what was wrong. Messages echo ids and values
// so an operator can fix the server side, but never a password: target
// passwords (and every secret registered with core::register_secret) are
// replaced by [REDACTED] wherever they would appear.
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"

namespace backupy::config {

// Every problem found, in config order (targets, jobs, health checks,
// maintenance window, advanced settings); empty means valid. Each problem is
// one lowercase line naming the object, e.g.
//   job "nightly": target_id "pg-main" does not exist
//   duplicate target id "pg1"
//   job "nightly": cron: cron field 'hour' (value "25"): 25 is out of range 0-23
//   maintenance window: start_utc "25:00" is not HH:MM
std::vector<std::string> validate_snapshot(const backup::v1::AgentConfig& config);

// One reason line for an Ack: the first five problems joined by "; ", then
// "; and N more" if there were more. Empty input gives an empty string.
std::string summarize_problems(const std::vector<std::string>& problems);

}  // namespace backupy::config
