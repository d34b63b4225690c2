#include "admission.hpp"

#include "backupy/compress/codec.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/core/time.hpp"
#include "backupy/drivers/driver.hpp"

namespace backupy::runs::detail {

Admission admit_job(const std::string& job_id, const backup::v1::AgentConfig& config,
                    const RunManagerOptions& options, const drivers::DriverRegistry& drivers) {
  Admission admission;
  auto refuse = [&](std::string reason) {
    admission.refusal = std::move(reason);
    return admission;
  };
  const std::string job_name = core::quoted(job_id);
  const backup::v1::BackupJobSpec* job = nullptr;
  for (const auto& candidate : config.jobs()) {
    if (candidate.id() == job_id) job = &candidate;
  }
  if (job == nullptr) {
    return refuse("job " + job_name + " is not in this agent's configuration (version " +
                  std::to_string(config.version()) + ")");
  }
  admission.job = *job;
  const backup::v1::Target* target = nullptr;
  for (const auto& candidate : config.targets()) {
    if (candidate.id() == job->target_id()) target = &candidate;
  }
  if (target == nullptr) {
    return refuse("job " + job_name + " names target " + core::quoted(job->target_id()) +
                  ", which is not in this agent's configuration");
  }
  admission.target = *target;
  if (!drivers.supports(target->type())) {
    return refuse("no driver for " + drivers::db_type_name(target->type()) +
                  " in this agent build (target " + core::quoted(target->id()) + ")");
  }
  if (!compress::parse_codec(job->compression())) {
    return refuse("job " + job_name + " asks for compression " + core::quoted(job->compression()) +
                  "; this agent supports zstd, gzip and none");
  }
  if ((job->pre_hooks_size() > 0 || job->post_hooks_size() > 0) && !options.hooks_enabled) {
    return refuse("job " + job_name +
                  " has hooks, but hooks are disabled on this agent (the operator enables them "
                  "with BACKUPY_HOOKS=enabled)");
  }
  return admission;
}

Admission admit(const backup::v1::RunBackup& command, const backup::v1::AgentConfig& config,
                const RunManagerOptions& options, const drivers::DriverRegistry& drivers,
                std::uint64_t now_ms) {
  Admission admission = admit_job(command.job_id(), config, options, drivers);
  if (admission.refusal) return admission;
  auto refuse = [&](std::string reason) {
    admission.refusal = std::move(reason);
    return admission;
  };
  if (admission.job.encryption_enabled() && command.encrypted_dek().size() != 32) {
    return refuse("RunBackup carries a " + std::to_string(command.encrypted_dek().size()) +
                  "-byte data key; encryption needs exactly 32 bytes");
  }
  const auto& creds = command.upload_creds();
  if (creds.presigned_put_url().empty() || creds.final_s3_key().empty()) {
    return refuse(
        "RunBackup carries no upload credentials (presigned_put_url and final_s3_key "
        "are required)");
  }
  if (creds.expires_at_ms() != 0 && creds.expires_at_ms() <= now_ms) {
    return refuse("the upload credentials expired at " + core::iso8601_utc(creds.expires_at_ms()) +
                  ", before the run started");
  }
  return admission;
}

}  // namespace backupy::runs::detail
