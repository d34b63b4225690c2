#pragma once
// BlobReader: encrypted blob format v1 in (in pieces of any size), plaintext
// out (docs/formats/encrypted-blob-v1.md).
//
// Each frame is buffered whole, authenticated, and only then forwarded to
// next: plaintext of a frame that fails authentication never leaves the
// reader. Frames before it have been forwarded already, so a consumer that
// must not expose partial output (backupy-decrypt --out FILE) writes to a
// temporary file and keeps it only after finish() returned.
//
// Throws BlobError on malformed input: a frame length outside [28, 1,048,604],
// a frame that does not authenticate, bytes after the terminator, or (from
// finish()) an input that ended before the terminator.
//
// What the format cannot detect: whole frames dropped or reordered between
// two frame boundaries. Only the SHA-256 of the stored object catches that.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "backupy/blob/format.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::blob {

class BlobReader final : public stream::ByteSink {
 public:
  // Copies dek; the copy is wiped on destruction.
  BlobReader(std::span<const std::uint8_t, kKeySize> dek, stream::ByteSink& next);
  ~BlobReader() override;
  BlobReader(const BlobReader&) = delete;
  BlobReader& operator=(const BlobReader&) = delete;

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  // Throws BlobError(truncated) unless the terminator was read; then finishes next.
  void finish() override;

  // Frames authenticated and forwarded so far.
  std::uint64_t frames_read() const { return frame_number_ - 1; }

 private:
  void start_frame();
  void open_frame();

  std::array<std::uint8_t, kKeySize> dek_;
  stream::ByteSink& next_;
  std::array<std::uint8_t, kLengthSize> length_{};  // the length field being read
  std::size_t length_have_ = 0;
  std::uint32_t frame_len_ = 0;      // 0 while reading a length field
  std::vector<std::uint8_t> frame_;  // nonce || ciphertext || tag of the current frame
  std::uint64_t frame_number_ = 1;   // 1-based, as in the error messages
  bool terminated_ = false;
};

}  // namespace backupy::blob
