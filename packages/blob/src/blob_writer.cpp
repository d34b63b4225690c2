#include "backupy/blob/blob_writer.hpp"

#include <algorithm>
#include <stdexcept>

#include "backupy/crypto/crypto.hpp"
#include "backupy/crypto/detail/aes_gcm.hpp"
#include "big_endian.hpp"

namespace backupy::blob {

Nonce random_nonce() {
  const crypto::Bytes bytes = crypto::random_bytes(kNonceSize);
  Nonce nonce{};
  std::copy(bytes.begin(), bytes.end(), nonce.begin());
  return nonce;
}

BlobWriter::BlobWriter(std::span<const std::uint8_t, kKeySize> dek, stream::ByteSink& next,
                       NonceSource nonce_source)
    : next_(next), nonce_source_(std::move(nonce_source)) {
  std::copy(dek.begin(), dek.end(), dek_.begin());
}

BlobWriter::~BlobWriter() {
  crypto::secure_wipe(dek_);
}

void BlobWriter::write(std::span<const std::uint8_t> data) {
  if (finished_) throw std::logic_error("blob writer: write after finish");
  while (!data.empty()) {
    if (chunk_.empty() && data.size() >= kChunkSize) {
      // A whole chunk is at hand: seal it in place rather than copy it first.
      seal_frame(data.first(kChunkSize));
      data = data.subspan(kChunkSize);
      continue;
    }
    if (chunk_.capacity() < kChunkSize) chunk_.reserve(kChunkSize);
    const std::size_t take = std::min(kChunkSize - chunk_.size(), data.size());
    chunk_.insert(chunk_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (chunk_.size() == kChunkSize) {
      seal_frame(chunk_);
      chunk_.clear();
    }
  }
}

void BlobWriter::finish() {
  if (finished_) throw std::logic_error("blob writer: finish called twice");
  finished_ = true;
  if (!chunk_.empty()) {
    seal_frame(chunk_);
    chunk_.clear();
  }
  static constexpr std::array<std::uint8_t, kLengthSize> kTerminator{};
  next_.write(kTerminator);
  next_.finish();
}

void BlobWriter::seal_frame(std::span<const std::uint8_t> plaintext) {
  // The nonce-taking variant exists so that tests can pin nonces for golden
  // vectors; in production nonce_source_ is random_nonce, a fresh CSPRNG
  // draw per frame, exactly what aes256gcm_seal would do.
  const Nonce nonce = nonce_source_();
  const crypto::Bytes sealed =
      crypto::detail::aes256gcm_seal_with_nonce(dek_, nonce, plaintext, {});
  next_.write(detail::encode_u32_be(static_cast<std::uint32_t>(sealed.size())));
  next_.write(sealed);
}

}  // namespace backupy::blob
