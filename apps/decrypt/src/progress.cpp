#include "progress.hpp"

#include <cstdio>
#include <string>

#include "backupy/core/human_bytes.hpp"

namespace backupy::decrypt {

void ProgressLine::update(std::uint64_t bytes_read) {
  const auto now = std::chrono::steady_clock::now();
  if (last_draw_ && now - *last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  draw(bytes_read);
}

void ProgressLine::complete(std::uint64_t bytes_read) {
  draw(bytes_read);
  interrupt();
}

void ProgressLine::interrupt() {
  if (!line_open_) return;
  err_ << "\n" << std::flush;
  line_open_ = false;
}

void ProgressLine::draw(std::uint64_t bytes_read) {
  // Trailing spaces erase the remains of a longer previous line.
  std::string line = "\rbackupy-decrypt: read " + core::human_bytes(bytes_read);
  if (total_ && *total_ > 0) {
    line += " of " + core::human_bytes(*total_) + " (" +
            std::to_string(bytes_read * 100 / *total_) + "%)";
  }
  err_ << line << "    " << std::flush;
  line_open_ = true;
}

}  // namespace backupy::decrypt
