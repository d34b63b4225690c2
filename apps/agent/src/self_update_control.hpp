#pragma once
// The agent's self-update, end to end (docs/self-update.md): at start-up, what the update state
// says to do (run, run on trial, go back, exec the installed update); while running, the
// SelfUpdate command, the switch once no run is active, the trial's health confirmation or
// rollback, and the upstream report of a rollback.
//
// Threads: everything runs on the control thread except the trial monitor's deadline (its own
// thread, so that a wedged control thread still rolls back) and the SelfUpdater's download.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backup/v1/agent.pb.h"
#include "backupy/config/bootstrap.hpp"
#include "backupy/selfupdate/self_updater.hpp"
#include "backupy/selfupdate/trial_monitor.hpp"
#include "backupy/selfupdate/update_state.hpp"

namespace backupy::agent {

// What a re-exec repeats: the running binary and the command line it was started with.
struct ProcessImage {
  std::filesystem::path self;  // /proc/self/exe
  std::vector<std::string> argv;
};
ProcessImage current_process_image(int argc, char** argv);

// A switch of binaries, carried out once the agent has shut down (main_with_args).
struct ExecRequest {
  std::filesystem::path binary;
  // A candidate's first start: saved before the exec; its trial id goes into the environment.
  std::optional<selfupdate::UpdateState> trial;
};

// Saves the trial state (if any) and replaces the process. Returns only on failure: then the
// trial is recorded as rolled back and the running binary is started again instead; the exit
// code if even that fails.
int switch_binary(const config::BootstrapConfig& bootstrap, const ExecRequest& request,
                  const ProcessImage& image);

// The start-up step, before the state database is opened: applies the update state's plan.
// Execs (does not return) when the plan switches binaries and the exec works.
struct StartOutcome {
  std::optional<selfupdate::UpdateState> trial;       // this start is a candidate on trial
  std::optional<selfupdate::UpdateState> unreported;  // a rollback not reported upstream yet
};
StartOutcome prepare_start(const config::BootstrapConfig& bootstrap, const ProcessImage& image);

struct SelfUpdateHooks {
  std::function<bool()> enabled;                  // advanced.auto_update_enabled
  std::function<void(backup::v1::Ack)> send_ack;  // through the durable outbox
  std::function<void()> hold_dumps;               // no queued run starts its dump any more
  std::function<std::size_t()> busy_runs;         // runs dumping or uploading
  // Connected, with results (the deferred Ack among them) not yet acknowledged by the server.
  std::function<bool()> undelivered;
  std::function<void(ExecRequest)> shutdown_and_exec;  // orderly stop, then the exec
};

class SelfUpdateControl {
 public:
  SelfUpdateControl(boost::asio::io_context& io, const config::BootstrapConfig& bootstrap,
                    ProcessImage image, StartOutcome start, SelfUpdateHooks hooks);
  ~SelfUpdateControl();

  // A SelfUpdate envelope: an immediate refusal, or nullopt (the answer follows).
  std::optional<backup::v1::Ack> handle(const backup::v1::Envelope& envelope);
  // The session registered with the control plane: confirms a trial, reports a rollback.
  void registered();

 private:
  void switch_when_idle(selfupdate::InstalledUpdate update);
  void wait_and_retry(selfupdate::InstalledUpdate update);
  void trial_expired();

  boost::asio::io_context& io_;
  const config::BootstrapConfig& bootstrap_;
  ProcessImage image_;
  SelfUpdateHooks hooks_;
  std::optional<selfupdate::UpdateState> trial_;
  std::optional<selfupdate::UpdateState> unreported_;
  boost::asio::steady_timer idle_timer_;
  std::optional<std::chrono::steady_clock::time_point> idle_since_;
  std::unique_ptr<selfupdate::SelfUpdater> updater_;
  std::unique_ptr<selfupdate::TrialMonitor> monitor_;  // last: its thread uses the members above
};

}  // namespace backupy::agent
