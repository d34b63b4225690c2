#pragma once
// A one-line progress display on standard error ("\r" rewrites it), for
// interactive use only: the caller enables it when stderr is a terminal and
// --quiet was not given.
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace backupy::decrypt {

class ProgressLine {
 public:
  // total: the input size when known (a regular file), for a percentage.
  ProgressLine(std::ostream& err, std::optional<std::uint64_t> total) : err_(err), total_(total) {}

  // Redraws at most every 200 ms.
  void update(std::uint64_t bytes_read);
  // Draws the final state and ends the line (success).
  void complete(std::uint64_t bytes_read);
  // Ends the line if one was drawn, so that an error message starts on a
  // fresh line.
  void interrupt();

 private:
  void draw(std::uint64_t bytes_read);

  std::ostream& err_;
  std::optional<std::uint64_t> total_;
  std::optional<std::chrono::steady_clock::time_point> last_draw_;
  bool line_open_ = false;
};

}  // namespace backupy::decrypt
