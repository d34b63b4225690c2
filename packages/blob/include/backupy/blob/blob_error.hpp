#pragma once
// Why a blob was rejected. The message is the user-facing text
// ("frame 3: authentication failed (wrong key or corrupted data)"); kind()
// lets callers and tests branch without matching strings.
#include <stdexcept>
#include <string>

namespace backupy::blob {

class BlobError : public std::runtime_error {
 public:
  enum class Kind {
    frame_too_short,        // frame_len < 28
    frame_too_long,         // frame_len > 1,048,604
    authentication_failed,  // GCM tag mismatch: wrong key, or the frame was altered
    data_after_terminator,  // bytes follow the 00 00 00 00 terminator
    truncated,              // the input ended before the terminator
  };

  BlobError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

}  // namespace backupy::blob
