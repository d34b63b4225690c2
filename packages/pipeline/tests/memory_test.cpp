// Memory must not grow with the dump: ~100 MiB through the whole pipeline
// (zstd single-threaded, encrypted, to a spool file) while the heap is
// measured. A stage that kept its input or output would add ~25-100 MiB.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backupy/pipeline/pipeline.hpp"
#include "backupy/test_support/heap_usage.hpp"
#include "test_support.hpp"

namespace backupy::pipeline {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

using test_support::heap_in_use;

// Fresh text from 64 letters into one reused buffer: compresses to ~75 %, so
// whatever a stage kept would be large.
void generate(stream::ByteSink& sink, std::size_t total, std::vector<std::uint8_t>& chunk,
              std::uint64_t& state) {
  for (std::size_t done = 0; done < total; done += chunk.size()) {
    for (std::size_t i = 0; i + 8 <= chunk.size(); i += 8) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      const std::uint64_t word = (state & 0x3F3F3F3F3F3F3F3Full) | 0x4040404040404040ull;
      std::memcpy(chunk.data() + i, &word, sizeof word);
    }
    sink.write(std::span(chunk.data(), std::min(chunk.size(), total - done)));
  }
}

TEST(PipelineMemoryTest, HundredMebibytesDoNotGrowTheHeap) {
  constexpr std::size_t kWarmUp = 16 * kMiB;  // contexts and buffers settle
  constexpr std::size_t kTotal = 100 * kMiB;
  constexpr std::size_t kAllowedGrowth = 16 * kMiB;

  testing::TempDir dir;
  PipelineOptions options;
  options.dek = testing::test_dek();
  options.spool_path = dir.path() / "run.spool";
  std::vector<std::uint8_t> chunk(1 * kMiB + 3);
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  std::size_t before = 0;
  std::size_t after = 0;

  const PipelineResult result = run_pipeline(
      [&](stream::ByteSink& sink) {
        generate(sink, kWarmUp, chunk, state);
        before = heap_in_use();
        generate(sink, kTotal - kWarmUp, chunk, state);
        after = heap_in_use();
      },
      options);

  EXPECT_EQ(result.raw_bytes, kTotal);
  // Enough reached the spool that buffering any of it would show.
  EXPECT_GT(result.stored_bytes, kTotal / 2);
  EXPECT_LT(after, before + kAllowedGrowth)
      << "heap grew by " << (after - before) / 1024 << " KiB while streaming "
      << (kTotal - kWarmUp) / kMiB << " MiB";
}

}  // namespace
}  // namespace backupy::pipeline
