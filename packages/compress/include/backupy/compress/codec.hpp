#pragma once
// Streaming compression filters for the pipeline and for backupy-decrypt.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "backupy/stream/byte_sink.hpp"

namespace backupy::compress {

enum class Codec { zstd, gzip, none };

// "zstd" | "gzip" | "none"; "" means zstd (the contract's default). nullopt otherwise.
std::optional<Codec> parse_codec(std::string_view name);
std::string_view to_string(Codec codec);

struct CompressOptions {
  int level = 0;    // 0 = the codec's default (zstd 3, gzip 6)
  int workers = 0;  // zstd worker threads (ZSTD_c_nbWorkers); 0 = single-threaded;
                    // gzip ignores it (zlib has no threads)
};

// Corrupt or truncated compressed input ("not a zstd stream", "truncated
// zstd stream", ...).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A sink that compresses what it receives into next. finish() ends the frame
// and finishes next. Constant memory. std::invalid_argument for a level out of
// the codec's range (zstd: ZSTD_minCLevel()..ZSTD_maxCLevel(), gzip 1..9) or
// negative workers.
std::unique_ptr<stream::ByteSink> make_compressor(Codec codec, CompressOptions options,
                                                  stream::ByteSink& next);
// The inverse; throws FormatError on corrupt input, and from finish() when the
// input ended inside a frame.
std::unique_ptr<stream::ByteSink> make_decompressor(Codec codec, stream::ByteSink& next);

}  // namespace backupy::compress
