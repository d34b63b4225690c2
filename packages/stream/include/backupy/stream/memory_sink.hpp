#pragma once
// Collects everything into a string. For tests and small payloads only: its
// memory grows with the stream, which the backup pipeline must never do.
#include <cstdint>
#include <span>
#include <string>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::stream {

class MemorySink : public ByteSink {
 public:
  using ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override;

  const std::string& data() const { return data_; }
  // Moves the collected bytes out (the sink is left empty).
  std::string take() { return std::move(data_); }
  bool finished() const { return finished_; }

 private:
  std::string data_;
  bool finished_ = false;
};

}  // namespace backupy::stream
