#pragma once
// Shared fixtures for the blob tests: a recording sink, the golden-vector key
// and nonce sequence, and one-call encrypt/decrypt helpers.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/blob/blob_writer.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::blob::testing {

using Bytes = std::vector<std::uint8_t>;

// Records everything written and how often finish() was called.
class CollectingSink final : public stream::ByteSink {
 public:
  using stream::ByteSink::write;
  void write(std::span<const std::uint8_t> data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
  }
  void finish() override { ++finish_calls; }

  Bytes bytes;
  int finish_calls = 0;
};

// The golden-vector key: bytes 0, 1, ..., 31.
inline std::array<std::uint8_t, kKeySize> test_dek() {
  std::array<std::uint8_t, kKeySize> key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i);
  return key;
}

// Nonce k (1-based) is eight zero bytes followed by k as a big-endian u32.
inline NonceSource counter_nonces() {
  auto counter = std::make_shared<std::uint32_t>(0);
  return [counter] {
    const std::uint32_t value = ++*counter;
    Nonce nonce{};
    nonce[8] = static_cast<std::uint8_t>(value >> 24);
    nonce[9] = static_cast<std::uint8_t>(value >> 16);
    nonce[10] = static_cast<std::uint8_t>(value >> 8);
    nonce[11] = static_cast<std::uint8_t>(value);
    return nonce;
  };
}

// Byte i is i % 251: a prime period, so no two 1 MiB chunks are equal.
inline Bytes pattern(std::size_t size) {
  Bytes out(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(i % 251);
  return out;
}

// The blob of plaintext under test_dek() and counter_nonces(), in one write.
inline Bytes encrypt(std::span<const std::uint8_t> plaintext) {
  CollectingSink sink;
  BlobWriter writer(test_dek(), sink, counter_nonces());
  writer.write(plaintext);
  writer.finish();
  return sink.bytes;
}

}  // namespace backupy::blob::testing
