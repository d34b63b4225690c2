#include "backupy/core/base64.hpp"

#include <array>

namespace backupy::core {
namespace {

constexpr int kInvalid = -1;

// Maps each byte to its 6-bit value in the given alphabet, kInvalid otherwise.
constexpr std::array<int, 256> make_table(char char62, char char63) {
  std::array<int, 256> table{};
  table.fill(kInvalid);
  for (int i = 0; i < 26; ++i) {
    table[static_cast<unsigned char>('A' + i)] = i;
    table[static_cast<unsigned char>('a' + i)] = 26 + i;
  }
  for (int i = 0; i < 10; ++i) table[static_cast<unsigned char>('0' + i)] = 52 + i;
  table[static_cast<unsigned char>(char62)] = 62;
  table[static_cast<unsigned char>(char63)] = 63;
  return table;
}

constexpr auto kUrlTable = make_table('-', '_');
constexpr auto kStandardTable = make_table('+', '/');

// Decodes unpadded text; nullopt on a bad character or a length of 4k + 1.
std::optional<std::vector<std::uint8_t>> decode_unpadded(std::string_view text,
                                                         const std::array<int, 256>& table) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<std::uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : text) {
    const int value = table[static_cast<unsigned char>(c)];
    if (value == kInvalid) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> bit_count));
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> decode_base64url(std::string_view text) {
  return decode_unpadded(text, kUrlTable);
}

std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  // "====" or "a===" are not base64; any other '=' fails the table lookup.
  const std::string_view body = text.substr(0, text.size() - padding);
  if (padding > 0 && body.size() % 4 + padding != 4) return std::nullopt;
  return decode_unpadded(body, kStandardTable);
}

}  // namespace backupy::core
