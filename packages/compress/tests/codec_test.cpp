#include "backupy/compress/codec.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <memory>
#include <stdexcept>

#include "backupy/stream/memory_sink.hpp"

namespace backupy::compress {
namespace {

TEST(CodecNamesTest, ParseAndPrintRoundTrip) {
  EXPECT_EQ(parse_codec(""), Codec::zstd);  // the contract's default
  for (Codec codec : {Codec::zstd, Codec::gzip, Codec::none}) {
    EXPECT_EQ(parse_codec(to_string(codec)), codec);
  }
  EXPECT_EQ(to_string(Codec::gzip), "gzip");
  EXPECT_FALSE(parse_codec("ZSTD").has_value());
  EXPECT_FALSE(parse_codec("lz4").has_value());
  EXPECT_FALSE(parse_codec("zstd ").has_value());
}

TEST(CompressOptionsTest, OutOfRangeLevelsAndNegativeWorkersAreRejected) {
  stream::MemorySink out;
  EXPECT_THROW(make_compressor(Codec::zstd, {.level = ZSTD_maxCLevel() + 1}, out),
               std::invalid_argument);
  EXPECT_THROW(make_compressor(Codec::zstd, {.workers = -1}, out), std::invalid_argument);
  EXPECT_THROW(make_compressor(Codec::gzip, {.level = 10}, out), std::invalid_argument);
  EXPECT_THROW(make_compressor(Codec::gzip, {.level = -1}, out), std::invalid_argument);
  EXPECT_NO_THROW(make_compressor(Codec::zstd, {.level = 19}, out));
  EXPECT_NO_THROW(make_compressor(Codec::zstd, {.level = -5}, out));  // zstd's fast levels
  EXPECT_NO_THROW(make_compressor(Codec::gzip, {.level = 9, .workers = 4}, out));
}

// The compressor falls back to one thread (with a warning) when libzstd lacks
// multithreading; this pins down that the library we build against has it.
TEST(ZstdLibraryTest, AcceptsWorkerThreads) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  ASSERT_TRUE(ctx);
  const std::size_t rc = ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_nbWorkers, 2);
  EXPECT_FALSE(ZSTD_isError(rc)) << ZSTD_getErrorName(rc);
}

TEST(CodecLifecycleTest, WriteAfterFinishIsALogicError) {
  for (Codec codec : {Codec::zstd, Codec::gzip, Codec::none}) {
    SCOPED_TRACE(to_string(codec));
    stream::MemorySink compressed;
    auto compressor = make_compressor(codec, {}, compressed);
    compressor->finish();
    EXPECT_THROW(compressor->write("late"), std::logic_error);
    EXPECT_THROW(compressor->finish(), std::logic_error);
  }
}

}  // namespace
}  // namespace backupy::compress
