#pragma once
// Terminal sink for --out -: writes straight to a file descriptor that it
// does not own (standard output). finish() neither closes nor syncs it: a
// pipe has nothing to sync and the fd belongs to the caller.
#include <string>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::decrypt {

class FdSink final : public stream::ByteSink {
 public:
  // name is used in errors ("cannot write to standard output: Broken pipe").
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override {}

 private:
  int fd_;
  std::string name_;
};

}  // namespace backupy::decrypt
