#include <gtest/gtest.h>

#include <string>

#include "backupy/compress/codec.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "test_support.hpp"

namespace backupy::compress {
namespace {

struct FormatCase {
  Codec codec;
  const char* truncated;
  const char* bad_magic;
  const char* corrupt_prefix;
};

// Readable ctest names (gtest would otherwise hex-dump the struct).
void PrintTo(const FormatCase& c, std::ostream* out) {
  *out << to_string(c.codec);
}

class FormatErrorTest : public ::testing::TestWithParam<FormatCase> {
 protected:
  // Feeds input to a fresh decompressor; returns the FormatError message
  // (empty if none) and whether it came from finish().
  struct Outcome {
    std::string message;
    bool from_finish = false;
  };
  static Outcome decode(std::string_view input, stream::MemorySink& out) {
    auto decompressor = make_decompressor(GetParam().codec, out);
    try {
      testing::write_in_pieces(*decompressor, input, {1, 2, 1000});
    } catch (const FormatError& e) {
      return {e.what(), false};
    }
    try {
      decompressor->finish();
    } catch (const FormatError& e) {
      return {e.what(), true};
    }
    return {};
  }
};

TEST_P(FormatErrorTest, TruncatedInputFailsInFinishWithExactMessage) {
  const std::string data = testing::dump_like_text(400000);
  const std::string compressed = testing::compress_all(GetParam().codec, data);
  for (std::size_t keep : {compressed.size() - 1, compressed.size() - 4, compressed.size() / 2,
                           std::size_t{20}, std::size_t{3}, std::size_t{1}, std::size_t{0}}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(compressed.size()));
    stream::MemorySink out;
    const Outcome outcome = decode(std::string_view(compressed).substr(0, keep), out);
    EXPECT_EQ(outcome.message, GetParam().truncated);
    EXPECT_TRUE(outcome.from_finish);
    EXPECT_FALSE(out.finished());  // the chain is abandoned, not finished
  }
}

TEST_P(FormatErrorTest, GarbageIsRejectedByItsMagic) {
  stream::MemorySink out;
  const Outcome outcome = decode("-- PostgreSQL database dump\nSET statement_timeout = 0;\n", out);
  EXPECT_EQ(outcome.message, GetParam().bad_magic);
  EXPECT_FALSE(outcome.from_finish);
  EXPECT_TRUE(out.data().empty());
}

TEST_P(FormatErrorTest, OtherCodecsOutputIsRejected) {
  const Codec other = GetParam().codec == Codec::zstd ? Codec::gzip : Codec::zstd;
  stream::MemorySink out;
  EXPECT_EQ(decode(testing::compress_all(other, "hello"), out).message, GetParam().bad_magic);
}

TEST_P(FormatErrorTest, CorruptedPayloadIsDetected) {
  const std::string data = testing::dump_like_text(400000);
  std::string compressed = testing::compress_all(GetParam().codec, data);
  compressed[compressed.size() / 2] = static_cast<char>(compressed[compressed.size() / 2] ^ 0x40);
  stream::MemorySink out;
  const Outcome outcome = decode(compressed, out);
  EXPECT_EQ(outcome.message.rfind(GetParam().corrupt_prefix, 0), 0u) << outcome.message;
  EXPECT_FALSE(out.finished());
}

TEST_P(FormatErrorTest, TrailingGarbageAfterAValidStreamIsRejected) {
  const std::string compressed = testing::compress_all(GetParam().codec, "payload");
  stream::MemorySink out;
  const Outcome outcome = decode(compressed + "garbage!", out);
  EXPECT_EQ(outcome.message.rfind(GetParam().corrupt_prefix, 0), 0u) << outcome.message;
}

INSTANTIATE_TEST_SUITE_P(
    CompressedCodecs, FormatErrorTest,
    ::testing::Values(FormatCase{Codec::zstd, "truncated zstd stream",
                                 "not a zstd stream (bad magic)", "corrupt zstd stream: "},
                      FormatCase{Codec::gzip, "truncated gzip stream",
                                 "not a gzip stream (bad magic)", "corrupt gzip stream: "}),
    [](const auto& info) { return std::string(to_string(info.param.codec)); });

TEST(ZstdFormatTest, ChecksumMismatchIsReported) {
  // The last 4 bytes of a frame are the XXH64-based content checksum.
  std::string compressed = testing::compress_all(Codec::zstd, testing::dump_like_text(10000));
  compressed.back() = static_cast<char>(compressed.back() ^ 0x01);
  stream::MemorySink out;
  auto decompressor = make_decompressor(Codec::zstd, out);
  try {
    decompressor->write(compressed);
    FAIL() << "checksum mismatch must be detected";
  } catch (const FormatError& e) {
    EXPECT_STREQ(e.what(), "corrupt zstd stream: Restored data doesn't match checksum");
  }
}

TEST(ZstdFormatTest, SkippableFrameIsAcceptedAndIgnored) {
  // magic 0x184D2A50, 4-byte little-endian length, payload
  const std::string skippable(
      "\x50\x2a\x4d\x18\x03\x00\x00\x00"
      "abc",
      11);
  const std::string compressed = skippable + testing::compress_all(Codec::zstd, "data");
  EXPECT_EQ(testing::decompress_all(Codec::zstd, compressed), "data");
}

}  // namespace
}  // namespace backupy::compress
