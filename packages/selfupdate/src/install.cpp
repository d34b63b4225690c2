#include "backupy/selfupdate/install.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/selfupdate/update_state.hpp"

namespace backupy::selfupdate {
namespace {

void fsync_path(const std::filesystem::path& path, int flags) {
  core::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot fsync " + path.string());
  }
}

}  // namespace

std::filesystem::path update_bin_dir(const std::filesystem::path& state_dir) {
  return update_dir(state_dir) / "bin";
}

std::filesystem::path download_path(const std::filesystem::path& state_dir) {
  return update_dir(state_dir) / "download.part";
}

bool is_safe_version(std::string_view version) {
  if (version.empty() || version.size() > 64 || version.front() == '.' || version.front() == '-') {
    return false;
  }
  return std::all_of(version.begin(), version.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == '+' || c == '-';
  });
}

std::filesystem::path install_download(const std::filesystem::path& state_dir,
                                       std::string_view version) {
  const std::filesystem::path bin = update_bin_dir(state_dir);
  core::ensure_private_dir(bin);
  const std::filesystem::path from = download_path(state_dir);
  const std::filesystem::path to = bin / ("backupy-agent-" + std::string(version));
  if (::chmod(from.c_str(), 0700) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot chmod " + from.string());
  }
  fsync_path(from, O_RDONLY);
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot install " + from.string() + " as " + to.string());
  }
  fsync_path(bin, O_RDONLY | O_DIRECTORY);
  return to;
}

void prune_installed(const std::filesystem::path& state_dir,
                     const std::vector<std::filesystem::path>& keep) {
  std::error_code ec;
  std::filesystem::remove(download_path(state_dir), ec);
  for (const auto& entry : std::filesystem::directory_iterator(update_bin_dir(state_dir), ec)) {
    const auto path = entry.path().lexically_normal();
    const bool kept = std::any_of(keep.begin(), keep.end(), [&](const std::filesystem::path& k) {
      return k.lexically_normal() == path;
    });
    if (!kept) std::filesystem::remove(path, ec);
  }
}

}  // namespace backupy::selfupdate
