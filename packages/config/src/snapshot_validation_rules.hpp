#pragma once
// The rules for each kind of object in an AgentConfig. Each check appends its
// problems to the report, prefixed by the object's label: `target "pg1"`, or
// `targets[2]` when the object has no id to name it by.
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"
#include "snapshot_validation_report.hpp"

namespace backupy::config::detail {

using IdSet = std::set<std::string, std::less<>>;

void check_target(const backup::v1::Target& target, std::string_view label, Report& report);
void check_job(const backup::v1::BackupJobSpec& job, std::string_view label,
               const IdSet& target_ids, Report& report);
void check_health_check(const backup::v1::HealthCheckSpec& check, std::string_view label,
                        Report& report);
void check_maintenance(const backup::v1::MaintenanceWindow& window, Report& report);
void check_advanced(const backup::v1::AdvancedSettings& advanced, Report& report);
void check_key_wrapping(const backup::v1::AgentConfig& config, Report& report);

}  // namespace backupy::config::detail
