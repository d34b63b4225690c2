#include "partial_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/crypto/crypto.hpp"
#include "failure.hpp"

namespace backupy::decrypt {
namespace {

std::string random_suffix() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  for (std::uint8_t byte : crypto::random_bytes(6)) suffix += kChars[byte % (sizeof kChars - 1)];
  return suffix;
}

}  // namespace

PartialFile::PartialFile(std::filesystem::path target) : target_(std::move(target)) {
  std::error_code ec;
  if (std::filesystem::is_directory(target_, ec)) {
    throw Failure("--out " + target_.string() + " is a directory");
  }
  const std::filesystem::path dir = target_.parent_path();
  const std::string prefix = "." + target_.filename().string() + ".partial-";
  // FileSink creates exclusively; a name clash (another run, a leftover of a
  // killed one) just means drawing another name.
  for (int attempt = 0;; ++attempt) {
    try {
      file_.emplace(dir / (prefix + random_suffix()));
      return;
    } catch (const std::system_error& error) {
      if (error.code() != std::errc::file_exists || attempt == 9) throw;
    }
  }
}

void PartialFile::commit() {
  if (!file_->finished()) throw std::logic_error("commit before the output was finished");
  if (::rename(file_->path().c_str(), target_.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(),
                            "cannot rename " + file_->path().string() + " to " + target_.string());
  }
  file_->keep();
  // Make the rename itself durable. Best effort: the data was fsynced before
  // the rename, and failing now would report an error for a complete file.
  const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : ".";
  core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

}  // namespace backupy::decrypt
