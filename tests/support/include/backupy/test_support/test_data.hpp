#pragma once
// Deterministic test inputs shared by the codec and pipeline suites.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace backupy::test_support {

inline std::string random_bytes(std::size_t size, std::uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t word = rng();
    for (std::size_t j = i; j < std::min(size, i + 8); ++j, word >>= 8) {
      data[j] = static_cast<char>(word);
    }
  }
  return data;
}

// SQL-dump-like text: compressible, but not a trivially repeating pattern.
inline std::string dump_like_text(std::size_t size, std::uint64_t seed = 7) {
  static constexpr std::string_view kWords[] = {
      "INSERT", "INTO",      "orders",    "VALUES",       "(",          ")",
      ",",      "'pending'", "'shipped'", "NULL",         "2026-11-22", "customer_id",
      "amount", ";\n",       "COPY",      "public.items", "\\N",        "\t"};
  std::mt19937_64 rng(seed);
  std::string text;
  text.reserve(size + 32);
  while (text.size() < size) {
    const std::uint64_t r = rng();
    text += kWords[r % std::size(kWords)];
    text += ' ';
    text += std::to_string((r >> 8) % 100000);
    text += ' ';
  }
  text.resize(size);
  return text;
}

}  // namespace backupy::test_support
