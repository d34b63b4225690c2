#pragma once
// The terminal sink of the backup pipeline: the spool file.
//
// The file is created exclusively, so a run never overwrites or appends to
// another run's file. It belongs to the sink until keep()/release(): a sink
// destroyed before that (an exception anywhere in the chain, a dump process
// that exits non-zero after its output ended) removes the file, so a failed
// run leaves no partial or unvetted spool file behind.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::stream {

// The disk filled up while writing path. code() is std::errc::no_space_on_device
// and what() is exactly "no space left on device while writing <path>" (a
// plain std::system_error would append strerror, repeating the reason in the
// run's failure message).
class NoSpaceError : public std::system_error {
 public:
  explicit NoSpaceError(const std::filesystem::path& path);
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

class FileSink : public ByteSink {
 public:
  static constexpr std::size_t kDefaultBufferSize = 256 * 1024;

  // Creates path with O_CREAT|O_EXCL and mode 0600 (exactly: the umask does
  // not apply). Throws std::system_error naming the path if it already exists
  // or cannot be created. buffer_size must be > 0; writes smaller than it are
  // gathered so the kernel sees few large writes.
  explicit FileSink(std::filesystem::path path, std::size_t buffer_size = kDefaultBufferSize);
  // Removes the file unless keep()/release() was called.
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  using ByteSink::write;
  // Throws NoSpaceError when the disk is full, std::system_error naming the
  // path on other write errors.
  void write(std::span<const std::uint8_t> data) override;
  // Flushes the buffer, fsyncs and closes the file, then fsyncs its directory
  // so the entry survives a power cut. Errors as for write().
  void finish() override;

  // After a successful finish(): the file stays when the sink is destroyed.
  // std::logic_error before finish() (a partial file is never kept).
  void keep();
  // keep(), returning the path (for callers that hand the file on).
  std::filesystem::path release();

  const std::filesystem::path& path() const { return path_; }
  // Bytes accepted by write() so far (including any still buffered).
  std::uint64_t bytes() const { return bytes_; }
  bool finished() const { return finished_; }

 private:
  void flush_buffer();

  std::filesystem::path path_;
  core::UniqueFd fd_;
  std::vector<std::uint8_t> buffer_;  // capacity fixed at construction
  std::size_t buffered_ = 0;
  std::uint64_t bytes_ = 0;
  bool finished_ = false;
  bool kept_ = false;
};

}  // namespace backupy::stream
