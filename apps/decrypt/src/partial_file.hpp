#pragma once
// The --out FILE target. The backup is written to a hidden temporary file in
// the same directory (".<name>.partial-XXXXXX", mode 0600) and renamed over
// FILE only by commit(), after every check passed: FILE never holds a partial
// or unverified backup, and a failed run leaves nothing behind (the
// temporary file is removed when this object goes away uncommitted).
#include <filesystem>
#include <optional>

#include "backupy/stream/file_sink.hpp"

namespace backupy::decrypt {

class PartialFile {
 public:
  // Throws Failure if target is a directory, std::system_error if the
  // temporary file cannot be created.
  explicit PartialFile(std::filesystem::path target);
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  // Receives the backup; finishing it flushes and fsyncs the temporary file.
  stream::ByteSink& sink() { return *file_; }
  const std::filesystem::path& temporary_path() const { return file_->path(); }

  // After sink().finish(): renames the temporary file over the target.
  void commit();

 private:
  std::filesystem::path target_;
  std::optional<stream::FileSink> file_;
};

}  // namespace backupy::decrypt
