#include "backupy/stream/file_sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "fd_io.hpp"

namespace backupy::stream {
namespace detail {

void throw_file_error(int error, const char* what, const std::filesystem::path& path) {
  if (error == ENOSPC) throw NoSpaceError(path);
  throw std::system_error(error, std::generic_category(), std::string(what) + " " + path.string());
}

void write_all(int fd, std::span<const std::uint8_t> data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_file_error(errno, "cannot write", path);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

}  // namespace detail

namespace {

void fsync_directory_of(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) detail::throw_file_error(errno, "cannot open directory", dir);
  if (::fsync(fd.get()) != 0) detail::throw_file_error(errno, "cannot fsync directory", dir);
}

}  // namespace

NoSpaceError::NoSpaceError(const std::filesystem::path& path)
    : std::system_error(std::make_error_code(std::errc::no_space_on_device)),
      message_("no space left on device while writing " + path.string()) {}

FileSink::FileSink(std::filesystem::path path, std::size_t buffer_size) : path_(std::move(path)) {
  if (buffer_size == 0) throw std::invalid_argument("FileSink buffer size must be > 0");
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd_) detail::throw_file_error(errno, "cannot create", path_);
  // A throwing constructor runs no destructor: remove the new file here.
  if (::fchmod(fd_.get(), 0600) != 0) {
    const int error = errno;
    ::unlink(path_.c_str());
    detail::throw_file_error(error, "cannot chmod", path_);
  }
  buffer_.resize(buffer_size);
}

FileSink::~FileSink() {
  if (kept_) return;
  fd_.reset();
  // Best effort: a destructor cannot report, and the run has failed already.
  ::unlink(path_.c_str());
}

void FileSink::write(std::span<const std::uint8_t> data) {
  if (finished_) throw std::logic_error("write after finish on " + path_.string());
  if (!fd_) throw std::logic_error("write after a failed finish on " + path_.string());
  bytes_ += data.size();
  if (buffered_ + data.size() <= buffer_.size()) {
    std::memcpy(buffer_.data() + buffered_, data.data(), data.size());
    buffered_ += data.size();
    return;
  }
  flush_buffer();
  if (data.size() >= buffer_.size()) {
    // Large writes go straight to the kernel: copying them first gains nothing.
    detail::write_all(fd_.get(), data, path_);
    return;
  }
  std::memcpy(buffer_.data(), data.data(), data.size());
  buffered_ = data.size();
}

void FileSink::flush_buffer() {
  if (buffered_ == 0) return;
  detail::write_all(fd_.get(), std::span(buffer_.data(), buffered_), path_);
  buffered_ = 0;
}

void FileSink::finish() {
  if (finished_) throw std::logic_error("finish called twice on " + path_.string());
  if (!fd_) throw std::logic_error("finish after a failed finish on " + path_.string());
  flush_buffer();
  if (::fsync(fd_.get()) != 0) detail::throw_file_error(errno, "cannot fsync", path_);
  // close() can report a deferred write error (NFS); the data is not safe
  // until it returned 0.
  if (::close(fd_.release()) != 0) detail::throw_file_error(errno, "cannot close", path_);
  fsync_directory_of(path_);
  finished_ = true;
}

void FileSink::keep() {
  if (!finished_) {
    throw std::logic_error("cannot keep unfinished file " + path_.string());
  }
  kept_ = true;
}

std::filesystem::path FileSink::release() {
  keep();
  return path_;
}

}  // namespace backupy::stream
