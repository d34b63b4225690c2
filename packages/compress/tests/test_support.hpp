#pragma once
// Shared helpers for compress_tests: deterministic data, whole-buffer
// compress/decompress through the streaming API, temp directories.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "backupy/compress/codec.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_data.hpp"

namespace backupy::compress {
// Readable ctest names for codec-parameterized tests (found by ADL).
inline void PrintTo(Codec codec, std::ostream* out) {
  *out << to_string(codec);
}
}  // namespace backupy::compress

namespace backupy::compress::testing {

using test_support::dump_like_text;
using test_support::random_bytes;

// Writes data into sink in pieces whose sizes cycle through pieces.
inline void write_in_pieces(stream::ByteSink& sink, std::string_view data,
                            std::initializer_list<std::size_t> pieces) {
  std::size_t offset = 0;
  while (offset < data.size()) {
    for (std::size_t piece : pieces) {
      sink.write(data.substr(offset, piece));
      offset += std::min(piece, data.size() - offset);
      if (offset == data.size()) break;
    }
  }
}

inline std::string compress_all(Codec codec, std::string_view data, CompressOptions options = {}) {
  stream::MemorySink out;
  auto compressor = make_compressor(codec, options, out);
  write_in_pieces(*compressor, data, {1, 7, 4093, 65537, 1000003});
  compressor->finish();
  EXPECT_TRUE(out.finished());
  return out.take();
}

inline std::string decompress_all(Codec codec, std::string_view data) {
  stream::MemorySink out;
  auto decompressor = make_decompressor(codec, out);
  write_in_pieces(*decompressor, data, {3, 8191, 131073, 1, 524287});
  decompressor->finish();
  EXPECT_TRUE(out.finished());
  return out.take();
}

using test_support::TempDir;

}  // namespace backupy::compress::testing
