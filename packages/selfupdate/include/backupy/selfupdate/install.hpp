#pragma once
// Where updates live under the state directory, and moving a verified download into place.
//   <state>/update/state.json                    the update state (update_state.hpp)
//   <state>/update/download.part                 a download being fetched and verified
//   <state>/update/bin/backupy-agent-<version>   installed binaries
#include <filesystem>
#include <string_view>
#include <vector>

namespace backupy::selfupdate {

std::filesystem::path update_bin_dir(const std::filesystem::path& state_dir);
std::filesystem::path download_path(const std::filesystem::path& state_dir);

// A version usable in a file name: 1-64 of [0-9A-Za-z.+-], not starting with '.' or '-'.
bool is_safe_version(std::string_view version);

// Renames the verified download to bin/backupy-agent-<version> (0700: only the agent's user may
// run what it installed), fsyncing file and directory. Returns the installed path. Throws
// std::system_error naming the path.
std::filesystem::path install_download(const std::filesystem::path& state_dir,
                                       std::string_view version);

// Removes every installed binary not in keep, and a left-over download. Never throws: what
// cannot be removed is retried at the next start.
void prune_installed(const std::filesystem::path& state_dir,
                     const std::vector<std::filesystem::path>& keep);

}  // namespace backupy::selfupdate
