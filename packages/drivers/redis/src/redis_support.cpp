#include "redis_support.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers::redis {
namespace {

constexpr std::uint64_t kReflectedPoly = 0x95ac9329ac4bc9b5ULL;  // bit-reversed 0xad93d23594c935a9
constexpr std::size_t kMarkSize = 40;
constexpr std::size_t kMaxHeaderLine = 128;

struct Table {
  std::array<std::uint64_t, 256> entries{};
  Table() {
    for (std::uint64_t i = 0; i < 256; ++i) {
      std::uint64_t crc = i;
      for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kReflectedPoly : crc >> 1;
      entries[i] = crc;
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

std::string printable(std::string text) {
  for (char& c : text) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  return text;
}

}  // namespace

std::uint64_t crc64(std::uint64_t crc, std::span<const std::uint8_t> data) {
  const auto& t = table().entries;
  for (std::uint8_t byte : data) crc = t[(crc ^ byte) & 0xff] ^ (crc >> 8);
  return crc;
}

void RdbVerifier::feed(std::span<const std::uint8_t> data) {
  if (head_.size() < 9) {
    const std::size_t take = std::min<std::size_t>(9 - head_.size(), data.size());
    head_.append(reinterpret_cast<const char*>(data.data()), take);
    if (head_.size() == 9) {
      bool ok = head_.starts_with("REDIS");
      for (std::size_t i = 5; i < 9; ++i)
        ok = ok && std::isdigit(static_cast<unsigned char>(head_[i]));
      if (!ok) {
        throw DriverError("the replication payload is not an RDB file (starts with \"" +
                          printable(head_) + "\", not REDIS<version>)");
      }
    }
  }
  bytes_ += data.size();
  checksum_.push(data, [this](std::span<const std::uint8_t> summed) {
    crc_ = crc64(crc_, summed);
    last_summed_ = summed.back();
  });
}

void RdbVerifier::finish() const {
  if (bytes_ < 9 + 1 + 8) {
    throw DriverError("the RDB payload is truncated (" + std::to_string(bytes_) + " bytes)");
  }
  if (last_summed_ != 0xFF) {
    throw DriverError("the RDB payload (" + std::to_string(bytes_) +
                      " bytes) has no EOF opcode before its checksum: truncated or corrupt");
  }
  const auto tail = checksum_.window();
  std::uint64_t stored = 0;
  for (std::size_t i = 0; i < 8; ++i) stored |= std::uint64_t{tail[i]} << (8 * i);
  if (stored != 0 && stored != crc_) {
    char text[80];
    std::snprintf(text, sizeof text, "stored %016llx, computed %016llx",
                  static_cast<unsigned long long>(stored), static_cast<unsigned long long>(crc_));
    throw DriverError("the RDB payload (" + std::to_string(bytes_) +
                      " bytes) fails its CRC64 check (" + text + ")");
  }
}

bool SyncPayloadParser::feed(std::span<const std::uint8_t> data) {
  while (!data.empty() && state_ == State::header) {
    const std::uint8_t c = data.front();
    data = data.subspan(1);
    if (line_.empty() && c == '\n') continue;  // keep-alive while the master prepares the RDB
    line_.push_back(static_cast<char>(c));
    if (line_.size() > kMaxHeaderLine) {
      throw DriverError("unexpected reply to SYNC (no payload header): \"" +
                        printable(line_.substr(0, 64)) + "...\"");
    }
    if (line_.ends_with("\r\n")) {
      line_.resize(line_.size() - 2);
      header_line();
      line_.clear();
    }
  }
  if (state_ == State::body && !data.empty()) body(data);
  return done();
}

void SyncPayloadParser::header_line() {
  if (line_.starts_with("+")) return;  // e.g. +FULLRESYNC <replid> <offset>
  if (line_.starts_with("-")) {
    throw DriverError("the server refused the replication sync: " + printable(line_.substr(1)));
  }
  if (line_.starts_with("$EOF:")) {
    mark_ = line_.substr(5);
    if (mark_.size() != kMarkSize) {
      throw DriverError("malformed diskless payload header (mark of " +
                        std::to_string(mark_.size()) + " bytes, expected 40)");
    }
    eof_mode_ = true;
    state_ = State::body;
    return;
  }
  if (line_.starts_with("$") && line_.size() > 1 && line_.size() <= 21 &&
      std::all_of(line_.begin() + 1, line_.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    remaining_ = std::stoull(line_.substr(1));
    state_ = remaining_ == 0 ? State::done : State::body;
    return;
  }
  throw DriverError("unexpected reply to SYNC: \"" + printable(line_.substr(0, 64)) + "\"");
}

void SyncPayloadParser::emit(std::span<const std::uint8_t> data) {
  verifier_.feed(data);
  out_(data);
}

void SyncPayloadParser::body(std::span<const std::uint8_t> data) {
  if (!eof_mode_) {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
    emit(data.first(take));
    remaining_ -= take;
    if (remaining_ == 0) state_ = State::done;
    return;
  }
  lookbehind_.push(data, [this](std::span<const std::uint8_t> bytes) { emit(bytes); });
  const auto window = lookbehind_.window();
  if (window.size() == kMarkSize && std::memcmp(window.data(), mark_.data(), kMarkSize) == 0) {
    state_ = State::done;
  }
}

void SyncPayloadParser::finish() const {
  if (state_ == State::header) {
    throw DriverError("the connection closed before the RDB payload began");
  }
  if (state_ == State::body) {
    throw DriverError(eof_mode_
                          ? "the diskless RDB payload is truncated (" +
                                std::to_string(verifier_.bytes()) + " bytes, no end mark)"
                          : "the RDB payload is truncated (" + std::to_string(verifier_.bytes()) +
                                " bytes received, " + std::to_string(remaining_) + " missing)");
  }
  verifier_.finish();
}

std::string info_field(const std::string& info, const std::string& key) {
  const std::string needle = key + ":";
  std::size_t at = 0;
  while (at < info.size()) {
    const std::size_t end = info.find('\n', at);
    std::string_view line(info.data() + at, (end == std::string::npos ? info.size() : end) - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.starts_with(needle)) return std::string(line.substr(needle.size()));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

}  // namespace backupy::drivers::redis
