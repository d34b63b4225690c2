#pragma once
// Whether a new RunBackup can run on this agent, decided before anything is
// started: a refused run is journalled and reported FAILED at once, with the
// one reason an operator needs to fix it.
#include <cstdint>
#include <optional>
#include <string>

#include "backup/v1/agent.pb.h"
#include "backupy/drivers/registry.hpp"
#include "backupy/runs/run_manager.hpp"

namespace backupy::runs::detail {

struct Admission {
  std::optional<std::string> refusal;  // set when the run must not start
  backup::v1::BackupJobSpec job;       // copies: later config changes do not touch the run
  backup::v1::Target target;
};

// The checks every run needs, whoever made it: the job and its target are in
// the config, a driver exists, the compression is known, hooks are allowed.
Admission admit_job(const std::string& job_id, const backup::v1::AgentConfig& config,
                    const RunManagerOptions& options, const drivers::DriverRegistry& drivers);

// admit_job() plus what a RunBackup must carry (a 32-byte DEK, valid creds).
Admission admit(const backup::v1::RunBackup& command, const backup::v1::AgentConfig& config,
                const RunManagerOptions& options, const drivers::DriverRegistry& drivers,
                std::uint64_t now_ms);

}  // namespace backupy::runs::detail
