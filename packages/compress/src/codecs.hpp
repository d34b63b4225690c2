#pragma once
// Internal: one factory pair per codec, behind make_compressor/make_decompressor.
#include <memory>

#include "backupy/compress/codec.hpp"

namespace backupy::compress::detail {

std::unique_ptr<stream::ByteSink> make_zstd_compressor(CompressOptions options,
                                                       stream::ByteSink& next);
std::unique_ptr<stream::ByteSink> make_zstd_decompressor(stream::ByteSink& next);
std::unique_ptr<stream::ByteSink> make_gzip_compressor(CompressOptions options,
                                                       stream::ByteSink& next);
std::unique_ptr<stream::ByteSink> make_gzip_decompressor(stream::ByteSink& next);

// The codec "none": forwards bytes unchanged (same object both ways).
std::unique_ptr<stream::ByteSink> make_passthrough(stream::ByteSink& next);

}  // namespace backupy::compress::detail
