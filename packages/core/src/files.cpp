#include "backupy/core/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

namespace backupy::core {
namespace {

[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

void fsync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open directory", dir);
  if (::fsync(fd.get()) != 0) throw_errno("cannot fsync directory", dir);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

UniqueFd::~UniqueFd() {
  reset();
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode,
                           Durability durability) {
  const bool sync = durability == Durability::fsync;
  const std::filesystem::path temp = path.string() + ".tmp";
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd) throw_errno("cannot create", temp);
    // The umask must not widen or narrow what the caller asked for.
    if (::fchmod(fd.get(), mode) != 0) throw_errno("cannot chmod", temp);
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("cannot write", temp);
      }
      written += static_cast<std::size_t>(n);
    }
    if (sync && ::fsync(fd.get()) != 0) throw_errno("cannot fsync", temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) throw_errno("cannot rename into place", path);
  if (sync) {
    fsync_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
  }
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path)) return std::nullopt;
    throw_errno("cannot read", path);
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void ensure_private_dir(const std::filesystem::path& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw std::system_error(ec, "cannot create directory " + dir.string());
  }
  if (!std::filesystem::is_directory(dir)) {
    throw std::system_error(std::make_error_code(std::errc::not_a_directory),
                            dir.string() + " exists and is not a directory");
  }
  ::chmod(dir.c_str(), mode);  // best effort: a mounted volume may refuse
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw_errno("directory is not writable:", dir);
}

FileLock::FileLock(const std::filesystem::path& path)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
  if (!fd_) throw_errno("cannot open lock file", path);
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      throw std::system_error(
          errno, std::generic_category(),
          "another agent already uses this state directory (lock " + path.string() + " is held)");
    }
    throw_errno("cannot lock", path);
  }
}

PrivateFile::PrivateFile(std::filesystem::path path, std::string_view content)
    : path_(std::move(path)) {
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd)
    throw std::system_error(errno, std::generic_category(), "cannot create " + path_.string());
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      fd.reset();
      ::unlink(path_.c_str());
      throw std::system_error(err, std::generic_category(), "cannot write " + path_.string());
    }
    done += static_cast<std::size_t>(n);
  }
}

PrivateFile::~PrivateFile() {
  ::unlink(path_.c_str());
}

}  // namespace backupy::core
