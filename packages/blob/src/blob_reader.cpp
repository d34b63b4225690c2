#include "backupy/blob/blob_reader.hpp"

#include <algorithm>
#include <string>

#include "backupy/blob/blob_error.hpp"
#include "backupy/crypto/crypto.hpp"
#include "big_endian.hpp"

namespace backupy::blob {
namespace {

std::string frame_label(std::uint64_t number) {
  return "frame " + std::to_string(number);
}

}  // namespace

BlobReader::BlobReader(std::span<const std::uint8_t, kKeySize> dek, stream::ByteSink& next)
    : next_(next) {
  std::copy(dek.begin(), dek.end(), dek_.begin());
}

BlobReader::~BlobReader() {
  crypto::secure_wipe(dek_);
}

void BlobReader::write(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    if (terminated_) {
      throw BlobError(BlobError::Kind::data_after_terminator, "data after the terminator");
    }
    if (frame_len_ == 0) {
      const std::size_t take = std::min(kLengthSize - length_have_, data.size());
      std::copy_n(data.begin(), take, length_.begin() + static_cast<std::ptrdiff_t>(length_have_));
      length_have_ += take;
      data = data.subspan(take);
      if (length_have_ == kLengthSize) start_frame();
      continue;
    }
    const std::size_t take = std::min(frame_len_ - frame_.size(), data.size());
    frame_.insert(frame_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (frame_.size() == frame_len_) open_frame();
  }
}

void BlobReader::finish() {
  if (!terminated_) {
    if (length_have_ > 0 || frame_len_ > 0) {
      throw BlobError(BlobError::Kind::truncated,
                      "truncated blob: input ended inside " + frame_label(frame_number_));
    }
    throw BlobError(BlobError::Kind::truncated, "truncated blob: missing terminator");
  }
  next_.finish();
}

void BlobReader::start_frame() {
  const std::uint32_t length = detail::decode_u32_be(length_);
  length_have_ = 0;
  if (length == 0) {
    terminated_ = true;
    return;
  }
  // Checked before buffering anything, so a corrupt length can neither make
  // the reader allocate more than one frame nor wait for bytes that will
  // never come.
  if (length < kMinFrameLen) {
    throw BlobError(BlobError::Kind::frame_too_short,
                    frame_label(frame_number_) + ": length " + std::to_string(length) +
                        " is below the minimum " + std::to_string(kMinFrameLen));
  }
  if (length > kMaxFrameLen) {
    throw BlobError(BlobError::Kind::frame_too_long,
                    frame_label(frame_number_) + ": length " + std::to_string(length) +
                        " is above the maximum " + std::to_string(kMaxFrameLen));
  }
  frame_len_ = length;
  frame_.clear();
  frame_.reserve(length);
}

void BlobReader::open_frame() {
  // aes256gcm_open takes nonce || ciphertext || tag, exactly the frame body.
  const std::optional<crypto::Bytes> plaintext = crypto::aes256gcm_open(dek_, frame_);
  if (!plaintext) {
    throw BlobError(
        BlobError::Kind::authentication_failed,
        frame_label(frame_number_) + ": authentication failed (wrong key or corrupted data)");
  }
  frame_len_ = 0;
  ++frame_number_;
  next_.write(*plaintext);
}

}  // namespace backupy::blob
