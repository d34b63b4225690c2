#pragma once
// Shared helpers for pipeline_tests: deterministic sources, temp directories,
// and decoding a spool file back to the raw stream.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_data.hpp"

namespace backupy::pipeline::testing {

using test_support::dump_like_text;
using test_support::random_bytes;

// Writes data into sink in pieces whose sizes cycle through a few odd values.
inline void write_in_pieces(stream::ByteSink& sink, std::string_view data) {
  static constexpr std::size_t kPieces[] = {1, 7, 4093, 65537, 1000003};
  std::size_t offset = 0;
  for (std::size_t i = 0; offset < data.size(); ++i) {
    const std::string_view piece = data.substr(offset, kPieces[i % std::size(kPieces)]);
    sink.write(piece);
    offset += piece.size();
  }
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::array<std::uint8_t, 32> test_dek() {
  std::array<std::uint8_t, 32> dek{};
  for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<std::uint8_t>(0xA0 + i);
  return dek;
}

struct Decoded {
  std::string raw;
  std::uint64_t compressed_bytes = 0;  // between the compressor and the blob layer
};

// The inverse of the pipeline: [BlobReader] -> decompressor, all in memory.
inline Decoded decode_spool(std::string_view spool, compress::Codec codec,
                            const std::optional<std::array<std::uint8_t, 32>>& dek) {
  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(codec, raw);
  Decoded decoded;
  if (dek) {
    stream::MemorySink compressed;
    blob::BlobReader reader{std::span(*dek), compressed};
    reader.write(spool);
    reader.finish();
    decoded.compressed_bytes = compressed.data().size();
    decompressor->write(compressed.data());
  } else {
    decoded.compressed_bytes = spool.size();
    decompressor->write(spool);
  }
  decompressor->finish();
  decoded.raw = raw.take();
  return decoded;
}

using test_support::TempDir;

}  // namespace backupy::pipeline::testing
