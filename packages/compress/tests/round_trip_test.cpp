#include <gtest/gtest.h>

#include <string>

#include "backupy/compress/codec.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "test_support.hpp"

namespace backupy::compress {
namespace {

using testing::compress_all;
using testing::decompress_all;

class RoundTripTest : public ::testing::TestWithParam<Codec> {};

TEST_P(RoundTripTest, Empty) {
  const std::string compressed = compress_all(GetParam(), "");
  if (GetParam() != Codec::none) {
    EXPECT_FALSE(compressed.empty());  // still a frame
  }
  EXPECT_EQ(decompress_all(GetParam(), compressed), "");
}

TEST_P(RoundTripTest, OneByte) {
  EXPECT_EQ(decompress_all(GetParam(), compress_all(GetParam(), "x")), "x");
}

TEST_P(RoundTripTest, ThreeMebibytesOfRandomBytes) {
  const std::string data = testing::random_bytes(3 * 1024 * 1024);
  const std::string compressed = compress_all(GetParam(), data);
  EXPECT_EQ(decompress_all(GetParam(), compressed), data);
}

TEST_P(RoundTripTest, TwentyMebibytesOfTextInOddChunks) {
  const std::string data = testing::dump_like_text(20 * 1024 * 1024);
  const std::string compressed = compress_all(GetParam(), data);
  if (GetParam() != Codec::none) {
    EXPECT_LT(compressed.size(), data.size() / 2);
  }
  EXPECT_EQ(decompress_all(GetParam(), compressed), data);
}

TEST_P(RoundTripTest, DecompressesOneByteAtATime) {
  const std::string data = testing::dump_like_text(50000);
  const std::string compressed = compress_all(GetParam(), data);
  stream::MemorySink out;
  auto decompressor = make_decompressor(GetParam(), out);
  for (char c : compressed) decompressor->write(std::string_view(&c, 1));
  decompressor->finish();
  EXPECT_EQ(out.data(), data);
}

TEST_P(RoundTripTest, ConcatenatedStreamsDecodeToConcatenatedData) {
  // zstd frames and gzip members may be concatenated (cat a.zst b.zst).
  const std::string first = testing::dump_like_text(300000, 1);
  const std::string second = testing::random_bytes(70000, 2);
  const std::string joined = compress_all(GetParam(), first) + compress_all(GetParam(), "") +
                             compress_all(GetParam(), second);
  EXPECT_EQ(decompress_all(GetParam(), joined), first + second);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RoundTripTest,
                         ::testing::Values(Codec::zstd, Codec::gzip, Codec::none),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(ZstdWorkersTest, TwoWorkersProduceAValidStream) {
  const std::string data = testing::dump_like_text(20 * 1024 * 1024, 3);
  const std::string compressed = compress_all(Codec::zstd, data, {.workers = 2});
  EXPECT_LT(compressed.size(), data.size() / 2);
  EXPECT_EQ(decompress_all(Codec::zstd, compressed), data);
}

TEST(ZstdLevelsTest, HigherLevelCompressesAtLeastAsWell) {
  const std::string data = testing::dump_like_text(2 * 1024 * 1024, 4);
  const std::string fast = compress_all(Codec::zstd, data, {.level = 1});
  const std::string strong = compress_all(Codec::zstd, data, {.level = 9});
  EXPECT_LE(strong.size(), fast.size());
  EXPECT_EQ(decompress_all(Codec::zstd, strong), data);
}

}  // namespace
}  // namespace backupy::compress
