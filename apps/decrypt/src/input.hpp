#pragma once
// The --in side: a file, or standard input, pumped into the pipeline.
#include <cstdint>
#include <optional>
#include <string>

#include "backupy/core/files.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::decrypt {

class ProgressLine;

struct Input {
  core::UniqueFd owned;  // empty for standard input, which is not ours to close
  int fd = -1;
  std::string name;                   // "standard input" or the path, for errors
  std::optional<std::uint64_t> size;  // known for regular files
};

// path "-" is stdin_fd. Throws Failure if the file cannot be opened, is a
// directory, or is a terminal (a blob is never typed in).
Input open_input(const std::string& path, int stdin_fd);

// Reads input to its end into sink (without finishing it), 256 KiB at a time;
// progress, if given, sees the running total. Throws std::system_error
// naming the input on a read error.
std::uint64_t pump(const Input& input, stream::ByteSink& sink, ProgressLine* progress);

}  // namespace backupy::decrypt
