#pragma once
// BlobWriter: plaintext in, encrypted blob format v1 out
// (docs/formats/encrypted-blob-v1.md).
//
// Plaintext is cut into 1 MiB chunks; each full chunk is sealed with AES-256-GCM
// under a fresh nonce and written to next as one frame as soon as it is
// complete. finish() seals the last, shorter chunk (if any), writes the
// 00 00 00 00 terminator and finishes next. Memory is constant: one chunk
// buffer, reused, plus the sealed frame of the moment.
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "backupy/blob/format.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::blob {

using Nonce = std::array<std::uint8_t, kNonceSize>;
// Called once per frame. Must never repeat a nonce under one DEK (GCM fails
// completely on reuse); only tests inject a deterministic source.
using NonceSource = std::function<Nonce()>;

// 12 bytes from the CSPRNG: the production nonce source.
Nonce random_nonce();

class BlobWriter final : public stream::ByteSink {
 public:
  // Copies dek; the copy is wiped on destruction.
  BlobWriter(std::span<const std::uint8_t, kKeySize> dek, stream::ByteSink& next,
             NonceSource nonce_source = random_nonce);
  ~BlobWriter() override;
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override;

 private:
  void seal_frame(std::span<const std::uint8_t> plaintext);

  std::array<std::uint8_t, kKeySize> dek_;
  stream::ByteSink& next_;
  NonceSource nonce_source_;
  std::vector<std::uint8_t> chunk_;  // pending plaintext, < kChunkSize bytes between calls
  bool finished_ = false;
};

}  // namespace backupy::blob
