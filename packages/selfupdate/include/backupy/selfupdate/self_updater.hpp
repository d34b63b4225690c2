#pragma once
// The agent's side of SelfUpdate (docs/self-update.md): refuses what it must at once, otherwise
// downloads, verifies (SHA-256 and the ECDSA P-256 release signature), probes and installs the
// new binary on a worker thread, then answers with a deferred Ack and hands the installed
// binary to the app, which switches to it once no run is active.
//
// Threads: handle() and every callback run on the control thread (results are posted back);
// the worker only touches files under <state>/update.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "backup/v1/agent.pb.h"
#include "backupy/selfupdate/download.hpp"
#include "backupy/selfupdate/release_key.hpp"

namespace backupy::selfupdate {

struct InstalledUpdate {
  std::string version;
  std::filesystem::path binary;
};

struct SelfUpdaterOptions {
  std::filesystem::path state_dir;
  std::string running_version;
  std::optional<ReleaseKey> key;  // none configured: every SelfUpdate is refused
  DownloadOptions download;
  // AdvancedSettings.auto_update_enabled of the configuration in force.
  std::function<bool()> enabled;
  // Runs a function on the control thread.
  std::function<void(std::function<void()>)> post;
  // The answer that follows a download: sent through the durable outbox.
  std::function<void(backup::v1::Ack)> send_ack;
  // A verified, installed update, ready to switch to.
  std::function<void(InstalledUpdate)> on_installed;
};

class SelfUpdater {
 public:
  explicit SelfUpdater(SelfUpdaterOptions options);
  ~SelfUpdater();  // waits for a download in progress to end (it is cancelled)
  SelfUpdater(const SelfUpdater&) = delete;
  SelfUpdater& operator=(const SelfUpdater&) = delete;

  // An immediate refusal, or nullopt when the answer follows through send_ack.
  std::optional<backup::v1::Ack> handle(const std::string& correlation_id,
                                        const backup::v1::SelfUpdate& command);

 private:
  void fetch(std::string correlation_id, backup::v1::SelfUpdate command, std::stop_token stop);
  void finish(const std::string& correlation_id, std::optional<InstalledUpdate> installed,
              std::string reason);

  SelfUpdaterOptions options_;
  bool busy_ = false;  // control thread: one update per process life once installed
  std::jthread worker_;
};

}  // namespace backupy::selfupdate
