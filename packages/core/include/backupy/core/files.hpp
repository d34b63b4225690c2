#pragma once
// Small filesystem helpers with the durability rules the agent relies on.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::core {

enum class Durability {
  fsync,    // survives a power cut: file and directory are fsynced
  replace,  // readers never see a torn file, but a crash may lose the update
};

// Writes content to a temp file beside path, renames it over path (and, for
// Durability::fsync, fsyncs file and directory): readers see the old or the
// new file, never a torn one. Throws std::system_error naming the path.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           mode_t mode = 0600, Durability durability = Durability::fsync);

// Whole-file read; nullopt if the file does not exist. Throws on other errors.
std::optional<std::string> read_file(const std::filesystem::path& path);

// Creates dir (and parents) with the given mode if missing; throws
// std::system_error with a precise message if it cannot, or if it is not
// writable.
void ensure_private_dir(const std::filesystem::path& dir, mode_t mode = 0700);

// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A private file (0600, created exclusively) holding a secret for a child
// process — a pgpass file, a client's defaults file — removed when the owner
// goes, on every path. Throws std::system_error naming the path.
class PrivateFile {
 public:
  PrivateFile(std::filesystem::path path, std::string_view content);
  ~PrivateFile();
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An exclusive advisory lock (flock) on a file, held for the object's life.
// Used so that two agents never share one state directory.
class FileLock {
 public:
  // Throws std::system_error if another process holds the lock.
  explicit FileLock(const std::filesystem::path& path);

 private:
  UniqueFd fd_;
};

}  // namespace backupy::core
