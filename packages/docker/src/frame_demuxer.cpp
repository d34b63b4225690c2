#include "backupy/docker/frame_demuxer.hpp"

#include <algorithm>
#include <cstdio>

#include "backupy/docker/engine_client.hpp"

namespace backupy::docker {
namespace {

// A daemon's own error message is short; more is not worth keeping.
constexpr std::size_t kMaxSystemError = 4096;

std::string header_hex(const unsigned char (&header)[8]) {
  std::string text;
  char byte[4];
  for (unsigned char c : header) {
    std::snprintf(byte, sizeof byte, "%02x", c);
    text += byte;
  }
  return text;
}

}  // namespace

FrameDemuxer::FrameDemuxer(Handler on_stdout, Handler on_stderr)
    : on_stdout_(std::move(on_stdout)), on_stderr_(std::move(on_stderr)) {}

void FrameDemuxer::start_frame() {
  const unsigned char stream = header_[0];
  if (stream > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
    throw DockerError("malformed exec stream: frame header " + header_hex(header_) +
                      " (stream byte must be 0, 1, 2 or 3 followed by three zero bytes)");
  }
  stream_ = stream;
  remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
               (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
  header_fill_ = 0;
  in_payload_ = true;
  ++frames_;
}

void FrameDemuxer::feed(std::span<const char> data) {
  while (!data.empty() || (in_payload_ && remaining_ == 0)) {
    if (!in_payload_) {
      const std::size_t take = std::min(data.size(), sizeof header_ - header_fill_);
      std::copy_n(reinterpret_cast<const unsigned char*>(data.data()), take,
                  header_ + header_fill_);
      header_fill_ += take;
      data = data.subspan(take);
      if (header_fill_ < sizeof header_) return;
      start_frame();
      continue;
    }
    const std::size_t take = std::min<std::size_t>(data.size(), remaining_);
    const std::span<const char> payload = data.first(take);
    data = data.subspan(take);
    remaining_ -= static_cast<std::uint32_t>(take);
    if (!payload.empty()) {
      if (stream_ == 2) {
        if (on_stderr_) on_stderr_(payload);
      } else if (stream_ == 3) {
        system_error_.append(
            payload.data(),
            std::min(payload.size(),
                     kMaxSystemError - std::min(kMaxSystemError, system_error_.size())));
      } else if (on_stdout_) {
        on_stdout_(payload);
      }
    }
    if (remaining_ == 0) {
      in_payload_ = false;
      if (stream_ == 3) {
        std::string message = std::move(system_error_);
        system_error_.clear();
        std::replace(message.begin(), message.end(), '\n', ' ');
        while (!message.empty() && message.back() == ' ') message.pop_back();
        throw DockerError("the daemon reported an error on the exec stream: " + message);
      }
    }
  }
}

void FrameDemuxer::finish() const {
  if (header_fill_ != 0 || (in_payload_ && remaining_ != 0)) {
    throw DockerError("exec stream ended inside a frame (" +
                      (in_payload_ ? std::to_string(remaining_) + " payload bytes missing"
                                   : std::to_string(header_fill_) + " of 8 header bytes") +
                      ")");
  }
}

}  // namespace backupy::docker
