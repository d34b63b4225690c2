#include "backupy/process/output_tail.hpp"

#include <string_view>

namespace backupy::process {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026 "…"

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence at text[pos] (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF), 0 when it is invalid.
std::size_t valid_sequence_length(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!is_continuation(byte(i))) return 0;
  }
  return length;
}

}  // namespace

OutputTail::OutputTail(std::size_t capacity) : capacity_(capacity) {
  buffer_.reserve(capacity_);
}

void OutputTail::append(std::span<const char> bytes) {
  total_ += bytes.size();
  if (bytes.size() >= capacity_) {
    buffer_.assign(bytes.end() - static_cast<std::ptrdiff_t>(capacity_), bytes.end());
    return;
  }
  const std::size_t keep = capacity_ - bytes.size();
  if (buffer_.size() > keep) buffer_.erase(0, buffer_.size() - keep);
  buffer_.append(bytes.data(), bytes.size());
}

std::string OutputTail::text() const {
  std::string_view kept = buffer_;
  const bool truncated = total_ > buffer_.size();
  if (truncated) {
    // Do not start in the middle of a character...
    for (int i = 0; i < 3 && !kept.empty() && is_continuation(kept.front()); ++i) {
      kept.remove_prefix(1);
    }
    // ...nor, when a line break is near, in the middle of a line.
    const std::size_t newline = kept.find('\n');
    if (newline != std::string_view::npos && newline < kept.size() / 4) {
      kept.remove_prefix(newline + 1);
    }
  }
  while (!kept.empty() && (kept.back() == ' ' || kept.back() == '\n' || kept.back() == '\r' ||
                           kept.back() == '\t' || kept.back() == '\v' || kept.back() == '\f')) {
    kept.remove_suffix(1);
  }

  std::string out;
  out.reserve(kept.size() + kEllipsis.size());
  if (truncated) out += kEllipsis;
  for (std::size_t pos = 0; pos < kept.size();) {
    const std::size_t length = valid_sequence_length(kept, pos);
    if (length == 0) {
      out += '?';
      ++pos;
    } else {
      out.append(kept.substr(pos, length));
      pos += length;
    }
  }
  return out;
}

}  // namespace backupy::process
