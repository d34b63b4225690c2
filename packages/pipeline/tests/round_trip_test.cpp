// Every codec, with and without encryption, on random, compressible, empty
// and odd-sized inputs: the spool decodes back to exactly the input, its
// hash and size are what the result says, and the blob layer adds exactly
// the format's overhead.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backupy/blob/format.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "test_support.hpp"

namespace backupy::pipeline {
namespace {

using testing::TempDir;

struct Input {
  const char* label;
  std::string (*make)();
};

const Input kInputs[] = {
    {"random", [] { return testing::random_bytes(3 * 1024 * 1024 + 17); }},
    {"compressible", [] { return testing::dump_like_text(5 * 1024 * 1024 + 5); }},
    {"empty", [] { return std::string(); }},
    {"one_byte", [] { return std::string("x"); }},
};

using Case = std::tuple<compress::Codec, bool, int>;  // codec, encrypted, input index

class RoundTripTest : public ::testing::TestWithParam<Case> {};

TEST_P(RoundTripTest, SpoolDecodesToTheInput) {
  const auto [codec, encrypted, input_index] = GetParam();
  const std::string input = kInputs[input_index].make();
  TempDir dir;
  PipelineOptions options;
  options.codec = codec;
  if (encrypted) options.dek = testing::test_dek();
  options.spool_path = dir.path() / "run.spool";

  const PipelineResult result =
      run_pipeline([&](stream::ByteSink& sink) { testing::write_in_pieces(sink, input); }, options);

  const std::string spool = testing::read_file(options.spool_path);
  EXPECT_EQ(result.raw_bytes, input.size());
  EXPECT_EQ(result.stored_bytes, spool.size());
  EXPECT_EQ(result.sha256_hex, crypto::sha256_hex(crypto::as_bytes(spool)));
  EXPECT_EQ(result.compression, compress::to_string(codec));

  struct stat info {};
  ASSERT_EQ(::stat(options.spool_path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  const testing::Decoded decoded = testing::decode_spool(spool, codec, options.dek);
  EXPECT_TRUE(decoded.raw == input)
      << "restored " << decoded.raw.size() << " of " << input.size() << " bytes, content differs";
  if (encrypted) {
    EXPECT_EQ(result.stored_bytes, blob::blob_size(decoded.compressed_bytes));
  } else {
    EXPECT_EQ(result.stored_bytes, decoded.compressed_bytes);
  }
  if (codec == compress::Codec::none && !encrypted) {
    EXPECT_EQ(spool, input);
  }
}

INSTANTIATE_TEST_SUITE_P(CodecsEncryptionInputs, RoundTripTest,
                         ::testing::Combine(::testing::Values(compress::Codec::zstd,
                                                              compress::Codec::gzip,
                                                              compress::Codec::none),
                                            ::testing::Bool(),
                                            ::testing::Range(0, int(std::size(kInputs)))),
                         [](const auto& info) {
                           return std::string(compress::to_string(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_encrypted_" : "_plain_") +
                                  kInputs[std::get<2>(info.param)].label;
                         });

TEST(PipelineTest, CompressibleInputShrinksAndZstdWorkersStillRoundTrip) {
  const std::string input = testing::dump_like_text(12 * 1024 * 1024);
  TempDir dir;
  PipelineOptions options;
  options.compress.workers = 2;
  options.dek = testing::test_dek();
  options.spool_path = dir.path() / "run.spool";
  const PipelineResult result =
      run_pipeline([&](stream::ByteSink& sink) { testing::write_in_pieces(sink, input); }, options);
  EXPECT_LT(result.stored_bytes, input.size() / 2);
  EXPECT_EQ(result.compression, "zstd");
  const std::string spool = testing::read_file(options.spool_path);
  EXPECT_TRUE(testing::decode_spool(spool, compress::Codec::zstd, options.dek).raw == input);
}

TEST(PipelineTest, ReportsProgressOnTheCallingThreadAndOnceAtTheEnd) {
  const std::string input = testing::dump_like_text(3 * 1024 * 1024 + 100);
  TempDir dir;
  PipelineOptions options;
  options.spool_path = dir.path() / "run.spool";
  options.progress_every_bytes = 1024 * 1024;
  std::vector<std::uint64_t> reports;
  const auto caller = std::this_thread::get_id();
  options.on_progress = [&](std::uint64_t raw) {
    EXPECT_TRUE(std::this_thread::get_id() == caller);
    reports.push_back(raw);
  };
  run_pipeline([&](stream::ByteSink& sink) { testing::write_in_pieces(sink, input); }, options);
  ASSERT_GE(reports.size(), 3u);  // 1, 2 and 3 MiB crossed; the last one may be the end
  EXPECT_EQ(reports.back(), input.size());
  EXPECT_TRUE(std::is_sorted(reports.begin(), reports.end()));
}

TEST(PipelineTest, RejectsBadOptionsWithoutCreatingAFile) {
  TempDir dir;
  PipelineOptions options;
  EXPECT_THROW(run_pipeline([](stream::ByteSink&) {}, options), std::invalid_argument);
  options.spool_path = dir.path() / "run.spool";
  options.progress_every_bytes = 0;
  options.on_progress = [](std::uint64_t) {};
  EXPECT_THROW(run_pipeline([](stream::ByteSink&) {}, options), std::invalid_argument);
  options.on_progress = nullptr;
  options.compress.level = 99;
  EXPECT_THROW(run_pipeline([](stream::ByteSink&) {}, options), std::invalid_argument);
  EXPECT_TRUE(dir.empty());
}

}  // namespace
}  // namespace backupy::pipeline
