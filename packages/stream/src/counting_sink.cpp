#include "backupy/stream/counting_sink.hpp"

#include <stdexcept>
#include <utility>

namespace backupy::stream {

CountingSink::CountingSink(ByteSink* next, std::uint64_t every_bytes, Progress progress)
    : next_(next), every_bytes_(every_bytes), progress_(std::move(progress)) {
  if (every_bytes_ == 0) throw std::invalid_argument("progress interval must be > 0 bytes");
}

void CountingSink::write(std::span<const std::uint8_t> data) {
  if (finished_) throw std::logic_error("write after finish on a counting sink");
  // Forward first: the count (and progress) describes bytes the next sink
  // accepted.
  if (next_ != nullptr) next_->write(data);
  bytes_ += data.size();
  if (progress_ && bytes_ / every_bytes_ != reported_ / every_bytes_) {
    reported_ = bytes_;
    progress_(bytes_);
  }
}

void CountingSink::finish() {
  if (finished_) throw std::logic_error("finish called twice on a counting sink");
  if (next_ != nullptr) next_->finish();
  finished_ = true;
  if (progress_ && reported_ != bytes_) {
    reported_ = bytes_;
    progress_(bytes_);
  }
}

}  // namespace backupy::stream
