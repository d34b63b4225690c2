#pragma once
// SHA-256 and byte count of everything that passes through, for the manifest
// (the hash of the spool file is what the control plane verifies on upload).
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "backupy/crypto/crypto.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::stream {

class HashingSink : public ByteSink {
 public:
  // next may be null: then this is a terminal sink that only hashes (e.g. to
  // verify a file without keeping a copy). next must outlive this sink.
  explicit HashingSink(ByteSink* next = nullptr) : next_(next) {}

  using ByteSink::write;
  void write(std::span<const std::uint8_t> data) override;
  void finish() override;

  // Valid after finish(); std::logic_error before.
  const std::array<std::uint8_t, 32>& sha256() const;
  const std::string& sha256_hex() const;
  // Bytes seen so far (final after finish()).
  std::uint64_t bytes() const { return bytes_; }

 private:
  ByteSink* next_;
  crypto::Sha256 hasher_;
  std::uint64_t bytes_ = 0;
  bool finished_ = false;
  std::array<std::uint8_t, 32> digest_{};
  std::string digest_hex_;
};

}  // namespace backupy::stream
