#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

#include "backupy/blob/blob_writer.hpp"
#include "backupy/blob/format.hpp"
#include "blob_test_support.hpp"

namespace backupy::blob {
namespace {

using testing::Bytes;
using testing::CollectingSink;
using testing::counter_nonces;
using testing::encrypt;
using testing::pattern;
using testing::test_dek;

static_assert(kMinFrameLen == 28);
static_assert(kMaxFrameLen == 1'048'604);
static_assert(blob_size(0) == 4);
static_assert(blob_size(1) == 37);
static_assert(blob_size(kChunkSize) == kChunkSize + 36);
static_assert(blob_size(kChunkSize + 1) == kChunkSize + 1 + 68);
static_assert(blob_size(std::uint64_t{10} << 30) == (std::uint64_t{10} << 30) + 32 * 10240 + 4);

TEST(BlobWriter, EmitsAFrameAsSoonAsAChunkIsFull) {
  CollectingSink sink;
  BlobWriter writer(test_dek(), sink, counter_nonces());
  const Bytes plaintext = pattern(kChunkSize);
  writer.write(std::span(plaintext).first(kChunkSize - 1));
  EXPECT_TRUE(sink.bytes.empty());
  writer.write(std::span(plaintext).last(1));
  EXPECT_EQ(sink.bytes.size(), kLengthSize + kMaxFrameLen);
  EXPECT_EQ(sink.finish_calls, 0);
  writer.finish();
  EXPECT_EQ(sink.bytes.size(), blob_size(kChunkSize));
  EXPECT_EQ(sink.finish_calls, 1);
}

TEST(BlobWriter, OutputDoesNotDependOnHowWritesAreSplit) {
  const Bytes plaintext = pattern(3 * kChunkSize + 12'345);
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> piece(0, 300'000);
  CollectingSink sink;
  BlobWriter writer(test_dek(), sink, counter_nonces());
  for (std::size_t offset = 0; offset < plaintext.size();) {
    const std::size_t take = std::min(piece(rng), plaintext.size() - offset);
    writer.write(std::span(plaintext).subspan(offset, take));
    offset += take;
  }
  writer.finish();
  EXPECT_EQ(sink.bytes, encrypt(plaintext));
}

TEST(BlobWriter, BlobSizeMatchesTheOutput) {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{5}, kChunkSize - 1,
                           kChunkSize, kChunkSize + 1, 2 * kChunkSize, 3 * kChunkSize + 7}) {
    EXPECT_EQ(encrypt(pattern(size)).size(), blob_size(size)) << "plaintext size " << size;
  }
}

TEST(BlobWriter, DefaultNoncesAreFreshPerFrameAndPerBlob) {
  const Bytes plaintext = pattern(kChunkSize + 1);
  auto encrypt_randomly = [&] {
    CollectingSink sink;
    BlobWriter writer(test_dek(), sink);
    writer.write(plaintext);
    writer.finish();
    return sink.bytes;
  };
  const Bytes first = encrypt_randomly();
  const Bytes second = encrypt_randomly();
  ASSERT_EQ(first.size(), second.size());
  const auto nonce_at = [](const Bytes& blob, std::size_t offset) {
    return Bytes(blob.begin() + static_cast<std::ptrdiff_t>(offset),
                 blob.begin() + static_cast<std::ptrdiff_t>(offset + kNonceSize));
  };
  const std::size_t second_frame = kLengthSize + kMaxFrameLen;
  EXPECT_NE(nonce_at(first, kLengthSize), nonce_at(first, second_frame + kLengthSize));
  EXPECT_NE(nonce_at(first, kLengthSize), nonce_at(second, kLengthSize));
  EXPECT_NE(first, second);

  CollectingSink out;
  BlobReader reader(test_dek(), out);
  reader.write(first);
  reader.finish();
  EXPECT_EQ(out.bytes, plaintext);
}

TEST(BlobWriter, RejectsUseAfterFinish) {
  CollectingSink sink;
  BlobWriter writer(test_dek(), sink, counter_nonces());
  writer.finish();
  EXPECT_THROW(writer.write("late"), std::logic_error);
  EXPECT_THROW(writer.finish(), std::logic_error);
  EXPECT_EQ(sink.finish_calls, 1);
}

}  // namespace
}  // namespace backupy::blob
