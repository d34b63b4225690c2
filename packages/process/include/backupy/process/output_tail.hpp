#pragma once
// The last N bytes of a child's output, kept for error messages and LogEvents.
//
// A failing dump tool or hook usually explains itself in its last lines; the
// rest is noise and unbounded. append() keeps at most `capacity` bytes (the
// newest); text() cuts at a UTF-8/line-friendly boundary and marks the cut:
// after a cut it starts at the next whole character and, when a line break
// lies in the first quarter of what is kept, at the next line.
#include <cstddef>
#include <span>
#include <string>

namespace backupy::process {

class OutputTail {
 public:
  explicit OutputTail(std::size_t capacity = 4096);
  void append(std::span<const char> bytes);
  // The kept bytes; prefixed with "…" when older output was dropped; trailing
  // whitespace trimmed; invalid UTF-8 bytes replaced by '?'.
  std::string text() const;
  std::size_t total_bytes() const { return total_; }  // everything ever appended
  bool empty() const { return total_ == 0; }

 private:
  std::size_t capacity_;
  std::string buffer_;  // ring-free: erase-from-front keeps it simple; capacity is small
  std::size_t total_ = 0;
};

}  // namespace backupy::process
