#pragma once
// Pieces of the Redis driver that need no server: the CRC64 Redis uses for
// RDB files, and the parser of the SYNC reply (the bulk RDB payload).
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace backupy::drivers::redis {

// Redis's crc64 (src/crc64.c, "Jones"): reflected, polynomial
// 0xad93d23594c935a9, initial value 0, no final xor. Feed crc back in to
// continue over more data.
std::uint64_t crc64(std::uint64_t crc, std::span<const std::uint8_t> data);

// Keeps the last K bytes of a stream back; push() hands every byte that falls
// out of that window to emit, in order.
template <std::size_t K>
class Holdback {
 public:
  template <typename F>
  void push(std::span<const std::uint8_t> data, F&& emit);
  std::span<const std::uint8_t> window() const { return {buf_.data(), size_}; }

 private:
  std::array<std::uint8_t, K> buf_{};
  std::size_t size_ = 0;
};

// Verifies an RDB file streamed through it: "REDIS" + 4 digits at the start,
// the EOF opcode 0xFF followed by the 8-byte little-endian CRC64 of
// everything before the checksum at the end. A zero checksum (the server runs
// with rdbchecksum no) is accepted. Memory is constant.
class RdbVerifier {
 public:
  void feed(std::span<const std::uint8_t> data);
  // Throws DriverError (without target prefix) when the file is incomplete
  // or corrupt.
  void finish() const;
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint64_t bytes_ = 0;
  std::string head_;
  std::uint64_t crc_ = 0;
  std::uint8_t last_summed_ = 0;
  Holdback<8> checksum_;
};

// Parses what a master sends after SYNC: optional "\n" keep-alives, then
// either "$<len>\r\n" and exactly len bytes, or "$EOF:<40-byte mark>\r\n"
// and data ending with the same mark (never passed on). "+..." status lines
// (PSYNC's +FULLRESYNC) are skipped; a "-..." error line throws DriverError.
// The RDB bytes go to out and through an RdbVerifier.
class SyncPayloadParser {
 public:
  using Output = std::function<void(std::span<const std::uint8_t>)>;
  explicit SyncPayloadParser(Output out) : out_(std::move(out)) {}
  // Consumes data; returns true once the payload is complete (anything after
  // it is ignored).
  bool feed(std::span<const std::uint8_t> data);
  bool done() const { return state_ == State::done; }
  // Throws DriverError unless the payload is complete and the RDB verifies.
  void finish() const;
  std::uint64_t payload_bytes() const { return verifier_.bytes(); }
  bool diskless() const { return eof_mode_; }

 private:
  enum class State { header, body, done };
  void header_line();
  void body(std::span<const std::uint8_t> data);
  void emit(std::span<const std::uint8_t> data);

  Output out_;
  State state_ = State::header;
  std::string line_;
  bool eof_mode_ = false;
  std::uint64_t remaining_ = 0;
  std::string mark_;
  Holdback<40> lookbehind_;
  RdbVerifier verifier_;
};

// "redis_version:7.0.15\r\n..." -> value of key, "" if absent.
std::string info_field(const std::string& info, const std::string& key);

template <std::size_t K>
template <typename F>
void Holdback<K>::push(std::span<const std::uint8_t> data, F&& emit) {
  if (size_ + data.size() <= K) {
    std::copy(data.begin(), data.end(), buf_.begin() + static_cast<std::ptrdiff_t>(size_));
    size_ += data.size();
    return;
  }
  const std::size_t excess = size_ + data.size() - K;
  const std::size_t from_buf = std::min(excess, size_);
  if (from_buf != 0) emit(std::span<const std::uint8_t>(buf_.data(), from_buf));
  const std::size_t from_data = excess - from_buf;
  if (from_data != 0) emit(data.first(from_data));
  std::copy(buf_.begin() + static_cast<std::ptrdiff_t>(from_buf),
            buf_.begin() + static_cast<std::ptrdiff_t>(size_), buf_.begin());
  size_ -= from_buf;
  std::copy(data.begin() + static_cast<std::ptrdiff_t>(from_data), data.end(),
            buf_.begin() + static_cast<std::ptrdiff_t>(size_));
  size_ += data.size() - from_data;
}

}  // namespace backupy::drivers::redis
