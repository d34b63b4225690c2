#include "self_update_control.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "backupy/core/build_info.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/selfupdate/install.hpp"
#include "backupy/selfupdate/release_key.hpp"
#include "backupy/selfupdate/start_plan.hpp"

extern char** environ;

namespace backupy::agent {
namespace {

namespace su = selfupdate;
const core::Logger kLog("self-update");
// How long an orderly rollback may take before the monitor execs the previous binary itself.
constexpr std::chrono::seconds kRollbackGrace{15};
constexpr std::chrono::milliseconds kIdlePoll{250};
// How long an idle agent waits for its results to be acknowledged before switching anyway.
constexpr std::chrono::seconds kDeliveryWait{10};

bool runnable(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

// Replaces the process image; returns the reason only when execve failed.
std::string exec_image(const std::filesystem::path& binary, const std::string& trial_id,
                       const ProcessImage& image) {
  std::vector<std::string> args = image.argv;
  if (args.empty()) args.emplace_back();
  args[0] = binary.string();
  const std::string trial_prefix = std::string(su::kTrialEnvVar) + "=";
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, trial_prefix.c_str(), trial_prefix.size()) != 0)
      env.emplace_back(*entry);
  }
  if (!trial_id.empty()) env.push_back(trial_prefix + trial_id);
  std::vector<char*> argv_ptrs;
  for (auto& arg : args) argv_ptrs.push_back(arg.data());
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (auto& var : env) env_ptrs.push_back(var.data());
  env_ptrs.push_back(nullptr);
  ::execve(binary.c_str(), argv_ptrs.data(), env_ptrs.data());
  return std::strerror(errno);
}

// The update state's writers never throw: a state that cannot be written is logged, and the
// agent goes on as the binary it is (the next start decides again).
void save_state(const config::BootstrapConfig& bootstrap, const su::UpdateState& state) {
  try {
    su::save_update_state(bootstrap.state_dir, state);
  } catch (const std::exception& e) {
    kLog.error("cannot save the update state", {{"error", e.what()}});
  }
}

void clear_state(const config::BootstrapConfig& bootstrap) {
  try {
    su::clear_update_state(bootstrap.state_dir);
  } catch (const std::exception& e) {
    kLog.error("cannot clear the update state", {{"error", e.what()}});
  }
}

}  // namespace

ProcessImage current_process_image(int argc, char** argv) {
  ProcessImage image;
  std::error_code ec;
  image.self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec && argc > 0) image.self = std::filesystem::absolute(argv[0], ec);
  image.argv.assign(argv, argv + argc);
  return image;
}

int switch_binary(const config::BootstrapConfig& bootstrap, const ExecRequest& request,
                  const ProcessImage& image) {
  std::string trial_id;
  if (request.trial) {
    su::UpdateState trial = *request.trial;
    // The trial window starts now, after the orderly shutdown, not when the switch was decided.
    trial.deadline_ms =
        core::now_ms() + static_cast<std::uint64_t>(
                             std::chrono::milliseconds(bootstrap.update.trial_window).count());
    trial.changed_at_ms = core::now_ms();
    try {
      su::save_update_state(bootstrap.state_dir, trial);
      trial_id = trial.trial_id;
    } catch (const std::exception& e) {
      // Without a recorded trial the candidate could never be rolled back: do not start it.
      kLog.error("cannot record the trial; staying on this version", {{"error", e.what()}});
      exec_image(image.self, {}, image);
      return 1;
    }
  }
  kLog.info("switching binaries", {{"binary", request.binary.string()}});
  const std::string error = exec_image(request.binary, trial_id, image);
  kLog.error("cannot start the new binary",
             {{"binary", request.binary.string()}, {"error", error}});
  if (request.trial) {
    save_state(bootstrap,
               su::rolled_back(*request.trial,
                               "cannot start version " + request.trial->version + ": " + error,
                               core::now_ms()));
    exec_image(image.self, {}, image);  // back up as the version that was running
  }
  return 1;
}

StartOutcome prepare_start(const config::BootstrapConfig& bootstrap, const ProcessImage& image) {
  std::optional<std::string> trial_env;
  if (const char* value = std::getenv(su::kTrialEnvVar)) trial_env = value;
  ::unsetenv(su::kTrialEnvVar);  // no child (dump tool, hook) ever sees it

  std::optional<su::UpdateState> state;
  try {
    state = su::load_update_state(bootstrap.state_dir);
  } catch (const std::exception& e) {
    kLog.error("the update state is unreadable; it is discarded", {{"error", e.what()}});
    clear_state(bootstrap);
  }
  const su::StartPlan plan = su::plan_start({.state = state,
                                             .self = image.self,
                                             .self_version = std::string(core::kVersion),
                                             .trial_env = trial_env,
                                             .now_ms = core::now_ms(),
                                             .runnable = &runnable});
  if (!plan.note.empty()) kLog.log(plan.note_level, plan.note, {});
  if (plan.save) {
    save_state(bootstrap, *plan.save);
    state = plan.save;
  } else if (plan.clear_state) {
    clear_state(bootstrap);
    state.reset();
  }
  if (plan.action == su::StartPlan::Action::exec) {
    switch_binary(bootstrap, {.binary = plan.exec_binary, .trial = std::nullopt}, image);
    kLog.warn("running this binary instead", {{"binary", image.self.string()}});
  }
  // Kept: what runs, what a restart may come back to; a rolled-back binary goes at once.
  std::vector<std::filesystem::path> keep = {image.self};
  if (state) {
    if (state->phase != su::Phase::rolled_back) keep.push_back(state->binary);
    keep.push_back(state->previous_binary);
  }
  su::prune_installed(bootstrap.state_dir, keep);

  StartOutcome outcome;
  if (plan.action == su::StartPlan::Action::run_trial) outcome.trial = state;
  if (state && state->phase == su::Phase::rolled_back && !state->reported) {
    outcome.unreported = state;
  }
  return outcome;
}

SelfUpdateControl::SelfUpdateControl(boost::asio::io_context& io,
                                     const config::BootstrapConfig& bootstrap, ProcessImage image,
                                     StartOutcome start, SelfUpdateHooks hooks)
    : io_(io),
      bootstrap_(bootstrap),
      image_(std::move(image)),
      hooks_(std::move(hooks)),
      trial_(std::move(start.trial)),
      unreported_(std::move(start.unreported)),
      idle_timer_(io) {
  std::optional<su::ReleaseKey> key;
  try {
    key = su::configured_release_key(bootstrap.update.public_key_file);
    if (key) kLog.info("self-update release key", {{"fingerprint", key->fingerprint()}});
  } catch (const std::exception& e) {
    kLog.error("the release signing key is unusable; self-updates will be refused",
               {{"error", e.what()}});
  }
  su::SelfUpdaterOptions options;
  options.state_dir = bootstrap.state_dir;
  options.running_version = std::string(core::kVersion);
  options.key = std::move(key);
  options.download.ca_file = bootstrap.ca_file;
  options.download.max_bytes = bootstrap.update.max_bytes;
  options.enabled = hooks_.enabled;
  options.post = [this](std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); };
  options.send_ack = hooks_.send_ack;
  options.on_installed = [this](su::InstalledUpdate update) {
    switch_when_idle(std::move(update));
  };
  updater_ = std::make_unique<su::SelfUpdater>(std::move(options));

  if (trial_) {
    const auto deadline =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(trial_->deadline_ms));
    monitor_ = std::make_unique<su::TrialMonitor>(
        deadline, kRollbackGrace, [this] { trial_expired(); },
        [this] {
          const std::string error = exec_image(trial_->previous_binary, {}, image_);
          kLog.error("cannot roll back", {{"error", error}});
          ::_exit(1);  // a supervisor restarts the base binary, which finishes the rollback
        });
  }
}

SelfUpdateControl::~SelfUpdateControl() = default;

std::optional<backup::v1::Ack> SelfUpdateControl::handle(const backup::v1::Envelope& envelope) {
  if (monitor_) {
    backup::v1::Ack ack;
    ack.set_accepted(false);
    ack.set_reason("version " + std::string(core::kVersion) +
                   " is still on trial; try again once it is confirmed");
    return ack;
  }
  return updater_->handle(envelope.correlation_id(), envelope.self_update());
}

void SelfUpdateControl::registered() {
  if (monitor_ && monitor_->confirm()) {
    monitor_.reset();
    su::UpdateState confirmed = *trial_;
    confirmed.phase = su::Phase::confirmed;
    confirmed.changed_at_ms = core::now_ms();
    save_state(bootstrap_, confirmed);
    kLog.info("self-update confirmed healthy", {{"version", confirmed.version}});
    trial_.reset();
  }
  if (unreported_) {
    kLog.error("self-update was rolled back",
               {{"version", unreported_->version}, {"reason", unreported_->reason}});
    const auto next = su::after_rollback_reported(
        *unreported_, su::update_bin_dir(bootstrap_.state_dir), core::now_ms());
    if (next) {
      save_state(bootstrap_, *next);
    } else {
      clear_state(bootstrap_);
    }
    unreported_.reset();
  }
}

void SelfUpdateControl::switch_when_idle(su::InstalledUpdate update) {
  hooks_.hold_dumps();  // queued runs stay queued and start in the new binary
  if (const std::size_t busy = hooks_.busy_runs(); busy > 0) {
    kLog.debug("the switch waits for runs to finish", {{"busy_runs", busy}});
    idle_since_.reset();
    return wait_and_retry(std::move(update));
  }
  // Idle: give the results of the last runs and the Ack a moment to reach the control plane
  // first (they would wait in the outbox otherwise, and the operator sees the answer sooner).
  const auto now = std::chrono::steady_clock::now();
  if (!idle_since_) idle_since_ = now;
  if (hooks_.undelivered() && now - *idle_since_ < kDeliveryWait) {
    return wait_and_retry(std::move(update));
  }
  su::UpdateState trial;
  trial.phase = su::Phase::trial;
  trial.version = update.version;
  trial.binary = update.binary;
  trial.previous_version = std::string(core::kVersion);
  trial.previous_binary = image_.self;
  trial.trial_id = core::to_hex(crypto::random_bytes(16));
  kLog.info("no run is active: switching to the new version", {{"version", update.version}});
  hooks_.shutdown_and_exec({.binary = update.binary, .trial = std::move(trial)});
}

void SelfUpdateControl::wait_and_retry(su::InstalledUpdate update) {
  idle_timer_.expires_after(kIdlePoll);
  idle_timer_.async_wait([this, update = std::move(update)](const boost::system::error_code& ec) {
    if (!ec) switch_when_idle(update);
  });
}

void SelfUpdateControl::trial_expired() {  // the monitor's thread
  const std::string reason = "version " + trial_->version + " was not confirmed healthy within " +
                             std::to_string(bootstrap_.update.trial_window.count()) +
                             " s (it did not register with the control plane)";
  save_state(bootstrap_, su::rolled_back(*trial_, reason, core::now_ms()));
  kLog.error("self-update rolled back", {{"reason", reason}});
  const std::filesystem::path previous = trial_->previous_binary;
  boost::asio::post(io_, [this, previous] {
    hooks_.shutdown_and_exec({.binary = previous, .trial = std::nullopt});
  });
}

}  // namespace backupy::agent
