#include "progress.hpp"

#include <cstdio>
#include <string>

namespace backupy::decrypt {

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, kUnits[unit]);
  return buf;
}

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
  std::string line = "\rbackupy-decrypt: read " + human_bytes(bytes_read);
  if (total_ && *total_ > 0) {
    line +=
        " of " + human_bytes(*total_) + " (" + std::to_string(bytes_read * 100 / *total_) + "%)";
  }
  err_ << line << "    " << std::flush;
  line_open_ = true;
}

}  // namespace backupy::decrypt
