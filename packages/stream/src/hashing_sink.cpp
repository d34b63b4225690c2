#include "backupy/stream/hashing_sink.hpp"

#include <stdexcept>

#include "backupy/core/hex.hpp"

namespace backupy::stream {

void HashingSink::write(std::span<const std::uint8_t> data) {
  if (finished_) throw std::logic_error("write after finish on a hashing sink");
  hasher_.update(data);
  bytes_ += data.size();
  if (next_ != nullptr) next_->write(data);
}

void HashingSink::finish() {
  if (finished_) throw std::logic_error("finish called twice on a hashing sink");
  digest_ = hasher_.finish();
  digest_hex_ = core::to_hex(digest_);
  finished_ = true;
  if (next_ != nullptr) next_->finish();
}

const std::array<std::uint8_t, 32>& HashingSink::sha256() const {
  if (!finished_) throw std::logic_error("sha256 of a hashing sink before finish");
  return digest_;
}

const std::string& HashingSink::sha256_hex() const {
  if (!finished_) throw std::logic_error("sha256 of a hashing sink before finish");
  return digest_hex_;
}

}  // namespace backupy::stream
