#include "backupy/selfupdate/self_updater.hpp"

#include <utility>

#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/log.hpp"
#include "backupy/net/url.hpp"
#include "backupy/selfupdate/install.hpp"
#include "backupy/selfupdate/update_state.hpp"
#include "backupy/selfupdate/verify.hpp"
#include "backupy/selfupdate/version.hpp"
#include "backupy/selfupdate/version_probe.hpp"
#include "backupy/upload/https_request.hpp"

namespace backupy::selfupdate {
namespace {

const core::Logger kLog("self-update");

bool is_sha256_hex(std::string_view text) {
  return text.size() == 64 && core::from_hex(text).has_value();
}

backup::v1::Ack refusal(std::string reason) {
  kLog.warn("refused a self-update", {{"reason", reason}});
  backup::v1::Ack ack;
  ack.set_accepted(false);
  ack.set_reason(std::move(reason));
  return ack;
}

// Why the command cannot be honoured, or "" when it can.
std::string precondition_failure(const SelfUpdaterOptions& options,
                                 const backup::v1::SelfUpdate& command, bool busy) {
  if (!command.force() && !options.enabled()) {
    return "self-update is disabled (advanced.auto_update_enabled is false and force is not set)";
  }
  if (!options.key) {
    return "no release signing key is configured (BACKUPY_UPDATE_PUBLIC_KEY_FILE)";
  }
  const std::string& version = command.target_version();
  const auto order = compare_versions(version, options.running_version);
  if (!order || !is_safe_version(version)) {
    return "target_version \"" + version.substr(0, 64) + "\" is not a release version (X.Y.Z)";
  }
  if (!command.force() && *order <= 0) {
    return "version " + version + " is not newer than the running " + options.running_version +
           " (set force to install it anyway)";
  }
  std::string error;
  const auto url = net::parse_url(command.binary_url(), &error);
  if (!url || url->scheme != "https") {
    return "binary_url must be an https:// URL" + (error.empty() ? "" : ": " + error);
  }
  if (!is_sha256_hex(command.sha256())) return "sha256 must be 64 hex digits";
  if (command.cosign_signature().empty()) return "cosign_signature is empty";
  if (busy) return "another self-update is in progress";
  return {};
}

}  // namespace

SelfUpdater::SelfUpdater(SelfUpdaterOptions options) : options_(std::move(options)) {}

SelfUpdater::~SelfUpdater() = default;  // worker_ (a jthread) asks the fetch to stop and joins

std::optional<backup::v1::Ack> SelfUpdater::handle(const std::string& correlation_id,
                                                   const backup::v1::SelfUpdate& command) {
  if (std::string why = precondition_failure(options_, command, busy_); !why.empty()) {
    return refusal(std::move(why));
  }
  busy_ = true;
  kLog.info("self-update accepted for download",
            {{"version", command.target_version()},
             {"url", upload::display_url(command.binary_url())},
             {"force", command.force()}});
  worker_ = std::jthread([this, correlation_id, command](std::stop_token stop) {
    fetch(correlation_id, command, std::move(stop));
  });
  return std::nullopt;
}

void SelfUpdater::fetch(std::string correlation_id, backup::v1::SelfUpdate command,
                        std::stop_token stop) {
  std::optional<InstalledUpdate> installed;
  std::string reason;
  const std::filesystem::path part = download_path(options_.state_dir);
  try {
    core::ensure_private_dir(update_dir(options_.state_dir));
    DownloadOptions download = options_.download;
    download.cancelled = [&stop] { return stop.stop_requested(); };
    const DownloadResult fetched = download_release(command.binary_url(), part, download);
    if (!fetched.ok) {
      reason = "download failed: " + fetched.error;
    } else if (const Verdict v = verify_release(part, command.sha256(), command.cosign_signature(),
                                                *options_.key);
               !v.ok) {
      reason = "verification failed: " + v.reason;
    } else if (const Verdict p = probe_version(part, command.target_version()); !p.ok) {
      reason = p.reason;
    } else {
      installed = InstalledUpdate{command.target_version(),
                                  install_download(options_.state_dir, command.target_version())};
    }
  } catch (const std::exception& e) {
    reason = std::string("cannot install the update: ") + e.what();
  }
  if (!installed) {
    std::error_code ec;
    std::filesystem::remove(part, ec);
  }
  options_.post([this, correlation_id = std::move(correlation_id), installed = std::move(installed),
                 reason = std::move(reason)]() mutable {
    finish(correlation_id, std::move(installed), std::move(reason));
  });
}

void SelfUpdater::finish(const std::string& correlation_id,
                         std::optional<InstalledUpdate> installed, std::string reason) {
  backup::v1::Ack ack;
  ack.set_correlation_id(correlation_id);
  ack.set_accepted(installed.has_value());
  if (installed) {
    ack.set_reason("verified version " + installed->version +
                   "; switching to it once no run is active");
    kLog.info("self-update verified and installed",
              {{"version", installed->version}, {"binary", installed->binary.string()}});
  } else {
    busy_ = false;
    ack.set_reason(std::move(reason));
    kLog.error("self-update failed", {{"reason", ack.reason()}});
  }
  options_.send_ack(std::move(ack));
  if (installed) options_.on_installed(std::move(*installed));
}

}  // namespace backupy::selfupdate
