#pragma once
// Counts the bytes that pass through and, optionally, reports progress every
// N bytes (run progress for the control plane without a timer thread: the
// callback runs on the worker thread, inside write()).
#include <cstdint>
#include <functional>
#include <span>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::stream {

class CountingSink : public ByteSink {
 public:
  // Receives the running total. Runs inside write()/finish(); may throw (the
  // exception abandons the chain like any sink failure).
  using Progress = std::function<void(std::uint64_t total_bytes)>;

  // next may be null (a terminal sink that only counts). next must outlive
  // this sink.
  explicit CountingSink(ByteSink* next = nullptr) : next_(next) {}
  // progress is called with the running total after each write() that
  // crosses a multiple of every_bytes (once per write, however many multiples
  // it crosses), and from finish() with the final total if that has not been
  // reported yet. every_bytes must be > 0.
  CountingSink(ByteSink* next, std::uint64_t every_bytes, Progress progress);

  using ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override;

  std::uint64_t bytes() const { return bytes_; }
  bool finished() const { return finished_; }

 private:
  ByteSink* next_;
  std::uint64_t every_bytes_ = 0;
  Progress progress_;
  std::uint64_t bytes_ = 0;
  std::uint64_t reported_ = 0;  // the total at the last progress call
  bool finished_ = false;
};

}  // namespace backupy::stream
