#include "download_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "cli_args.hpp"

namespace backupy::cpcli {
namespace {

std::string os_error() {
  return std::generic_category().message(errno);
}

}  // namespace

DownloadFile::DownloadFile(std::filesystem::path target) : target_(std::move(target)) {
  std::string pattern = target_.string() + ".part-XXXXXX";
  const int fd = ::mkstemp(pattern.data());  // 0600: a backup is nobody else's business
  if (fd < 0) throw CommandError("cannot create " + pattern + ": " + os_error());
  fd_.reset(fd);
  temp_ = pattern;
}

DownloadFile::~DownloadFile() {
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(temp_, ignored);
  }
}

bool DownloadFile::write(std::string_view data) {
  hash_.update(crypto::as_bytes(data));
  while (!data.empty()) {
    const ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
    size_ += static_cast<std::uint64_t>(n);
  }
  return true;
}

void DownloadFile::commit() {
  if (::fsync(fd_.get()) != 0)
    throw CommandError("cannot write " + temp_.string() + ": " + os_error());
  fd_.reset();
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec)
    throw CommandError("cannot rename " + temp_.string() + " to " + target_.string() + ": " +
                       ec.message());
  committed_ = true;
}

}  // namespace backupy::cpcli
