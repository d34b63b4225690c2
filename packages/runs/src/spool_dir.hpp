#pragma once
// The disk-backed upload queue: one file per run under the spool directory.
//
// File names come from run ids, which the control plane chooses: a safe id
// ([A-Za-z0-9._-], at most 100 characters, not starting with '.') is used as
// is so operators can tell files apart; anything else is replaced by a hash,
// so no id can escape the directory or collide with our own files.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace backupy::runs::detail {

inline constexpr std::string_view kSpoolSuffix = ".bkpy";

std::string spool_file_name(const std::string& run_id);

// Removes every entry of dir whose name is not in keep; returns the names
// removed. Creates dir (0700) if missing.
std::set<std::string> sweep_spool(const std::filesystem::path& dir,
                                  const std::set<std::string>& keep);

// Total size of the regular files in dir except `except` (a file name).
std::uint64_t spool_usage(const std::filesystem::path& dir, const std::string& except = {});

// Why the spool file of a resumed run cannot be uploaded (missing, another
// size, another SHA-256), or nullopt when it is exactly what was recorded.
std::optional<std::string> check_spool_file(const std::filesystem::path& file, std::uint64_t size,
                                            const std::string& sha256_hex);

// A private (0700) directory removed with its contents when the owner goes.
class ScratchDir {
 public:
  explicit ScratchDir(std::filesystem::path path);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace backupy::runs::detail
