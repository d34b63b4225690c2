#include "backupy/session/config_manager.hpp"

#include "backupy/config/snapshot_validation.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"

namespace backupy::session {
namespace {

const core::Logger kLog("config");

void register_config_secrets(const backup::v1::AgentConfig& config) {
  for (const auto& target : config.targets()) {
    core::register_secret(target.connection().password_secret_ref());
  }
}

}  // namespace

ConfigManager::ConfigManager(state::ConfigStore& store)
    : store_(store), current_(std::make_shared<backup::v1::AgentConfig>()) {
  if (auto stored = store_.load()) {
    register_config_secrets(stored->config);
    needs_fresh_ = stored->secrets_dropped;
    current_ = std::make_shared<backup::v1::AgentConfig>(std::move(stored->config));
    if (needs_fresh_) {
      kLog.warn(
          "stored config secrets were sealed with a different agent key; dropped them and will "
          "request a fresh config",
          {{"config_version", current_->version()}});
    } else {
      kLog.info("loaded persisted config", {{"config_version", current_->version()},
                                            {"jobs", current_->jobs_size()},
                                            {"targets", current_->targets_size()}});
    }
  }
}

ApplyOutcome ConfigManager::apply(const backup::v1::AgentConfig& snapshot,
                                  std::string_view source) {
  register_config_secrets(snapshot);
  const auto problems = config::validate_snapshot(snapshot);
  if (!problems.empty()) {
    ApplyOutcome outcome{ApplyOutcome::Kind::rejected,
                         "config version " + std::to_string(snapshot.version()) +
                             " rejected: " + config::summarize_problems(problems)};
    kLog.error(outcome.reason, {{"source", source}, {"kept_version", version()}});
    return outcome;
  }

  const std::uint64_t current_version = version();
  if (snapshot.version() < current_version) {
    ApplyOutcome outcome{ApplyOutcome::Kind::stale,
                         "config version " + std::to_string(snapshot.version()) +
                             " is older than the applied version " +
                             std::to_string(current_version) + "; ignored"};
    kLog.warn(outcome.reason, {{"source", source}});
    return outcome;
  }
  if (snapshot.version() == current_version && !needs_fresh_config()) {
    return {ApplyOutcome::Kind::unchanged, {}};
  }

  try {
    store_.save(snapshot);
  } catch (const std::exception& e) {
    ApplyOutcome outcome{ApplyOutcome::Kind::rejected, "config version " +
                                                           std::to_string(snapshot.version()) +
                                                           " could not be persisted: " + e.what()};
    kLog.error(outcome.reason, {{"source", source}, {"kept_version", current_version}});
    return outcome;
  }
  publish(std::make_shared<backup::v1::AgentConfig>(snapshot));
  kLog.info("applied config", {{"source", source},
                               {"config_version", snapshot.version()},
                               {"previous_version", current_version},
                               {"jobs", snapshot.jobs_size()},
                               {"targets", snapshot.targets_size()},
                               {"health_checks", snapshot.health_checks_size()}});
  return {ApplyOutcome::Kind::applied, {}};
}

void ConfigManager::publish(ConfigSnapshot snapshot) {
  std::vector<std::function<void(const ConfigSnapshot&)>> listeners;
  {
    std::lock_guard lock(mutex_);
    current_ = snapshot;
    needs_fresh_ = false;
    listeners = listeners_;
  }
  for (const auto& listener : listeners) listener(snapshot);
}

ConfigSnapshot ConfigManager::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::uint64_t ConfigManager::version() const {
  std::lock_guard lock(mutex_);
  return current_->version();
}

bool ConfigManager::needs_fresh_config() const {
  std::lock_guard lock(mutex_);
  return needs_fresh_;
}

void ConfigManager::on_change(std::function<void(const ConfigSnapshot&)> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

}  // namespace backupy::session
