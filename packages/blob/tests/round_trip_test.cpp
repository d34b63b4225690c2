#include <gtest/gtest.h>

#include <random>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/blob/blob_writer.hpp"
#include "backupy/crypto/crypto.hpp"
#include "blob_test_support.hpp"

namespace backupy::blob {
namespace {

using testing::Bytes;
using testing::CollectingSink;
using testing::test_dek;

Bytes random_plaintext(std::mt19937& rng, std::size_t size) {
  Bytes out(size);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : out) b = static_cast<std::uint8_t>(byte(rng));
  return out;
}

// Writes data into sink in pieces of random sizes (including empty ones).
void write_in_pieces(stream::ByteSink& sink, std::span<const std::uint8_t> data, std::mt19937& rng,
                     std::size_t max_piece) {
  std::uniform_int_distribution<std::size_t> piece(0, max_piece);
  while (!data.empty()) {
    const std::size_t take = std::min(piece(rng), data.size());
    sink.write(data.first(take));
    data = data.subspan(take);
  }
}

TEST(BlobRoundTrip, RandomSizesInRandomPieces) {
  std::mt19937 rng(20261122);
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{100}, kChunkSize - 1,
                           kChunkSize, kChunkSize + 1, 2 * kChunkSize + 999, 3 * kChunkSize}) {
    const Bytes plaintext = random_plaintext(rng, size);
    CollectingSink stored;
    BlobWriter writer(test_dek(), stored);
    write_in_pieces(writer, plaintext, rng, 400'000);
    writer.finish();
    EXPECT_EQ(stored.bytes.size(), blob_size(size));

    CollectingSink restored;
    BlobReader reader(test_dek(), restored);
    write_in_pieces(reader, stored.bytes, rng, 700'000);
    reader.finish();
    EXPECT_EQ(restored.bytes, plaintext) << "plaintext size " << size;
    EXPECT_EQ(restored.finish_calls, 1);
    EXPECT_EQ(reader.frames_read(), (size + kChunkSize - 1) / kChunkSize);
  }
}

TEST(BlobRoundTrip, ByteByByteInput) {
  const Bytes blob = testing::encrypt(crypto::as_bytes("hello"));
  CollectingSink restored;
  BlobReader reader(test_dek(), restored);
  for (std::uint8_t byte : blob) reader.write(std::span(&byte, 1));
  reader.finish();
  EXPECT_EQ(restored.bytes, Bytes({'h', 'e', 'l', 'l', 'o'}));
}

TEST(BlobRoundTrip, WriterStreamsStraightIntoReader) {
  std::mt19937 rng(42);
  const Bytes plaintext = random_plaintext(rng, 2 * kChunkSize + 17);
  CollectingSink restored;
  BlobReader reader(test_dek(), restored);
  BlobWriter writer(test_dek(), reader);
  write_in_pieces(writer, plaintext, rng, 100'000);
  writer.finish();  // finishes the reader, which finishes restored
  EXPECT_EQ(restored.bytes, plaintext);
  EXPECT_EQ(restored.finish_calls, 1);
}

}  // namespace
}  // namespace backupy::blob
