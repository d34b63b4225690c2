#pragma once
// The demultiplexer of an attached, non-TTY exec stream (Engine API, "Attach to
// a container" → "Stream format"): a sequence of frames, each an 8-byte header
//   [stream, 0, 0, 0, size (big-endian uint32)]
// followed by `size` payload bytes; stream 0 = stdin (written on stdout),
// 1 = stdout, 2 = stderr, 3 = an error of the daemon itself ("systemerr",
// API 1.41+; its payload is the message).
//
// Separate from the socket so that it is tested with handcrafted bytes: input
// arrives in arbitrary pieces (a header split across reads, a frame spanning
// many reads), and payload is handed on as it arrives — never buffered whole,
// since one frame may be as large as 4 GiB.
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace backupy::docker {

class FrameDemuxer {
 public:
  using Handler = std::function<void(std::span<const char>)>;
  FrameDemuxer(Handler on_stdout, Handler on_stderr);

  // Consumes a piece of the stream. Throws DockerError for a header whose
  // stream byte is not 0..3 or whose padding is not zero, and for a complete
  // systemerr frame (its text as the message).
  void feed(std::span<const char> data);
  // At the end of the stream: throws DockerError if it ended inside a frame.
  void finish() const;

  std::uint64_t frames() const { return frames_; }

 private:
  void start_frame();

  Handler on_stdout_;
  Handler on_stderr_;
  unsigned char header_[8] = {};
  std::size_t header_fill_ = 0;
  std::uint32_t remaining_ = 0;  // payload bytes still due in the current frame
  unsigned char stream_ = 0;
  bool in_payload_ = false;
  std::string system_error_;  // payload of a stream-3 frame
  std::uint64_t frames_ = 0;
};

}  // namespace backupy::docker
