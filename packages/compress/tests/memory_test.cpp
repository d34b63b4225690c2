// Memory must not grow with dump size: a 200 MiB stream goes through
// compressor -> decompressor while the heap is measured. A filter that
// buffered its input or output would grow the heap by ~100 MiB here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backupy/compress/codec.hpp"
#include "backupy/stream/counting_sink.hpp"
#include "backupy/stream/hashing_sink.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/heap_usage.hpp"

namespace backupy::compress {
namespace {

using test_support::heap_in_use;

constexpr std::size_t kMiB = 1024 * 1024;

// Fresh bytes from 64 letters: compresses to ~75 %, so whatever a filter kept
// would be large, and few matches keep deflate fast.
class Generator {
 public:
  explicit Generator(std::size_t chunk) : chunk_(chunk) {}

  // Writes total bytes into sink in chunks from one reused buffer.
  void write(stream::ByteSink& sink, std::size_t total) {
    for (std::size_t done = 0; done < total; done += chunk_.size()) {
      for (std::size_t i = 0; i + 8 <= chunk_.size(); i += 8) {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 7;
        state_ ^= state_ << 17;
        const std::uint64_t word = (state_ & 0x3F3F3F3F3F3F3F3Full) | 0x4040404040404040ull;
        std::memcpy(chunk_.data() + i, &word, sizeof word);
      }
      sink.write(std::span(chunk_.data(), std::min(chunk_.size(), total - done)));
    }
  }

 private:
  std::vector<std::uint8_t> chunk_;
  std::uint64_t state_ = 0x9E3779B97F4A7C15ull;
};

struct MemoryCase {
  Codec codec;
  CompressOptions options;
  std::size_t allowed_growth;  // after warm-up
  const char* label;
};

// Readable ctest names (gtest would otherwise hex-dump the struct).
void PrintTo(const MemoryCase& c, std::ostream* out) {
  *out << c.label;
}

// Single-threaded filters allocate everything up front.
constexpr std::size_t kFixedBuffers = 4 * kMiB;
// zstd's multithreaded mode allocates an output buffer per job lazily, as
// scheduling demands: at level 3 jobs are 8 MiB and up to 8 are in flight
// with 2 workers, so the heap climbs in 8 MiB steps from ~42 MiB to a plateau
// of ~113 MiB (measured, Debian's libzstd 1.5.4) at a time that depends on
// the scheduler. Still well below the ~130 MiB of compressed output that a
// buffering filter would keep here (or 176 MiB of restored output).
constexpr std::size_t kZstdJobBuffers = 80 * kMiB;

class BoundedMemoryTest : public ::testing::TestWithParam<MemoryCase> {};

TEST_P(BoundedMemoryTest, TwoHundredMebibytesThroughCompressorAndDecompressor) {
  constexpr std::size_t kWarmUp = 24 * kMiB;  // contexts, buffers and worker pools settle
  constexpr std::size_t kTotal = 200 * kMiB;

  stream::CountingSink restored;
  auto decompressor = make_decompressor(GetParam().codec, restored);
  stream::CountingSink compressed(decompressor.get());
  auto compressor = make_compressor(GetParam().codec, GetParam().options, compressed);
  Generator generator(1 * kMiB + 3);

  generator.write(*compressor, kWarmUp);
  const std::size_t before = heap_in_use();
  generator.write(*compressor, kTotal - kWarmUp);
  const std::size_t after = heap_in_use();
  compressor->finish();

  EXPECT_EQ(restored.bytes(), kTotal);
  EXPECT_TRUE(restored.finished());
  if (GetParam().codec != Codec::none) {
    EXPECT_LT(compressed.bytes(), kTotal);
  }
  // Enough passed through that buffering any of it would show.
  EXPECT_GT(compressed.bytes(), kTotal / 2);
  EXPECT_LT(after, before + GetParam().allowed_growth)
      << "heap grew by " << (after - before) / 1024 << " KiB while streaming "
      << (kTotal - kWarmUp) / kMiB << " MiB";
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, BoundedMemoryTest,
    ::testing::Values(MemoryCase{Codec::zstd, {}, kFixedBuffers, "zstd"},
                      MemoryCase{Codec::zstd, {.workers = 2}, kZstdJobBuffers, "zstd_two_workers"},
                      MemoryCase{Codec::gzip, {}, kFixedBuffers, "gzip"},
                      MemoryCase{Codec::none, {}, kFixedBuffers, "none"}),
    [](const auto& info) { return std::string(info.param.label); });

// The probe must see growth when there is some, or the test above proves
// nothing (e.g. a malloc whose counters stay at zero).
TEST(HeapProbeTest, SeesABufferingSink) {
  stream::MemorySink hoarder;
  auto compressor = make_compressor(Codec::none, {}, hoarder);
  Generator generator(1 * kMiB);
  generator.write(*compressor, 4 * kMiB);
  const std::size_t before = heap_in_use();
  generator.write(*compressor, 64 * kMiB);
  const std::size_t after = heap_in_use();
  EXPECT_GT(after, before + 32 * kMiB);
}

}  // namespace
}  // namespace backupy::compress
