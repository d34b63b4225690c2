#pragma once
// Push-model streaming, the backbone of the backup pipeline.
//
// A producer (a dump driver, a file reader) writes bytes into a ByteSink;
// filters (compression, encryption, hashing) are ByteSinks that transform what
// they receive and write it into the next sink. Everything is synchronous on
// the calling (worker) thread, so backpressure is free: a slow sink blocks the
// producer, which stops reading from the dump process, whose pipe fills, and
// the dump process waits. Memory is bounded by each filter's fixed buffers.
//
// Errors are exceptions (std::runtime_error subclasses with precise messages);
// after an exception the chain is abandoned, never finished.
#include <cstdint>
#include <span>
#include <string_view>

namespace backupy::stream {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Consumes all of data (may be empty). May throw.
  virtual void write(std::span<const std::uint8_t> data) = 0;
  // End of stream: flush everything downstream and finish the next sink.
  // No write() after finish().
  virtual void finish() = 0;

  void write(std::string_view text) {
    write(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  }
};

}  // namespace backupy::stream
