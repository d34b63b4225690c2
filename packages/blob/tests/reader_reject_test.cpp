// Every way a blob can be malformed must be rejected with the documented
// message, and no plaintext of an unauthenticated frame may be forwarded.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "backupy/blob/blob_error.hpp"
#include "backupy/blob/blob_reader.hpp"
#include "backupy/crypto/crypto.hpp"
#include "blob_test_support.hpp"

namespace backupy::blob {
namespace {

using testing::Bytes;
using testing::CollectingSink;
using testing::encrypt;
using testing::pattern;
using testing::test_dek;
using Kind = BlobError::Kind;

struct Outcome {
  std::optional<Kind> kind;  // nullopt: accepted
  std::string message;
  Bytes forwarded;
  int finish_calls = 0;
};

Outcome read_blob(std::span<const std::uint8_t> blob, const std::array<std::uint8_t, 32>& key) {
  CollectingSink out;
  Outcome outcome;
  try {
    BlobReader reader(key, out);
    reader.write(blob);
    reader.finish();
  } catch (const BlobError& error) {
    outcome.kind = error.kind();
    outcome.message = error.what();
  }
  outcome.forwarded = std::move(out.bytes);
  outcome.finish_calls = out.finish_calls;
  return outcome;
}

Outcome read_blob(std::span<const std::uint8_t> blob) {
  return read_blob(blob, test_dek());
}

Bytes truncated(const Bytes& blob, std::size_t size) {
  return Bytes(blob.begin(), blob.begin() + static_cast<std::ptrdiff_t>(size));
}

Bytes with_flipped_bit(Bytes blob, std::size_t offset, std::uint8_t mask) {
  blob.at(offset) ^= mask;
  return blob;
}

Bytes concat(Bytes head, std::initializer_list<std::uint8_t> tail) {
  head.insert(head.end(), tail);
  return head;
}

const Bytes kHello = {'h', 'e', 'l', 'l', 'o'};

// Layout of the two-frame blob of 1 MiB + 1 bytes used below.
constexpr std::size_t kFrame1 = 0;                                     // length field of frame 1
constexpr std::size_t kFrame2 = kFrame1 + kLengthSize + kMaxFrameLen;  // 1,048,608
constexpr std::size_t kTerminator = kFrame2 + kLengthSize + kNonceSize + 1 + kTagSize;
constexpr std::size_t kBigBlobSize = kTerminator + kLengthSize;

class TwoFrameBlob : public ::testing::Test {
 protected:
  // Built once: every test takes a copy of the same 1 MiB + 1 plaintext's blob.
  static const Bytes& plaintext() {
    static const Bytes bytes = pattern(kChunkSize + 1);
    return bytes;
  }
  static const Bytes& blob() {
    static const Bytes bytes = encrypt(plaintext());
    return bytes;
  }
  void SetUp() override {
    blob_ = blob();
    ASSERT_EQ(blob_.size(), kBigBlobSize);
  }
  static Bytes first_frame_plaintext() {
    return Bytes(plaintext().begin(),
                 plaintext().begin() + static_cast<std::ptrdiff_t>(kChunkSize));
  }
  Bytes blob_;
};

TEST(BlobReaderReject, EmptyInputIsTruncated) {
  const Outcome outcome = read_blob({});
  EXPECT_EQ(outcome.kind, Kind::truncated);
  EXPECT_EQ(outcome.message, "truncated blob: missing terminator");
  EXPECT_EQ(outcome.finish_calls, 0);
}

TEST(BlobReaderReject, TruncationAtEveryByteOfAOneFrameBlob) {
  const Bytes blob = encrypt(kHello);  // 37-byte frame + 4-byte terminator
  ASSERT_EQ(blob.size(), 41u);
  for (std::size_t size = 0; size < blob.size(); ++size) {
    const Outcome outcome = read_blob(truncated(blob, size));
    EXPECT_EQ(outcome.kind, Kind::truncated) << "truncated to " << size;
    std::string expected;
    if (size == 0 || size == 37) {
      expected = "truncated blob: missing terminator";
    } else {
      expected = size < 37 ? "truncated blob: input ended inside frame 1"
                           : "truncated blob: input ended inside frame 2";
    }
    EXPECT_EQ(outcome.message, expected) << "truncated to " << size;
    EXPECT_EQ(outcome.forwarded, size < 37 ? Bytes{} : kHello) << "truncated to " << size;
    EXPECT_EQ(outcome.finish_calls, 0);
  }
}

TEST_F(TwoFrameBlob, TruncationInEveryPartOfEveryFrame) {
  struct Case {
    const char* where;
    std::size_t size;
    const char* message;
    std::size_t forwarded;
  };
  const Case cases[] = {
      {"inside frame 1 length", kFrame1 + 2, "truncated blob: input ended inside frame 1", 0},
      {"after frame 1 length", kFrame1 + 4, "truncated blob: input ended inside frame 1", 0},
      {"inside frame 1 nonce", kFrame1 + 10, "truncated blob: input ended inside frame 1", 0},
      {"inside frame 1 ciphertext", kFrame1 + 16 + 100,
       "truncated blob: input ended inside frame 1", 0},
      {"inside frame 1 tag", kFrame2 - 8, "truncated blob: input ended inside frame 1", 0},
      {"at the frame boundary", kFrame2, "truncated blob: missing terminator", kChunkSize},
      {"inside frame 2 length", kFrame2 + 3, "truncated blob: input ended inside frame 2",
       kChunkSize},
      {"inside frame 2 nonce", kFrame2 + 4 + 6, "truncated blob: input ended inside frame 2",
       kChunkSize},
      {"before frame 2 ciphertext", kFrame2 + 16, "truncated blob: input ended inside frame 2",
       kChunkSize},
      {"inside frame 2 tag", kFrame2 + 17 + 8, "truncated blob: input ended inside frame 2",
       kChunkSize},
      {"before the terminator", kTerminator, "truncated blob: missing terminator", kChunkSize + 1},
      {"inside the terminator", kTerminator + 2, "truncated blob: input ended inside frame 3",
       kChunkSize + 1},
  };
  for (const Case& c : cases) {
    const Outcome outcome = read_blob(truncated(blob_, c.size));
    EXPECT_EQ(outcome.kind, Kind::truncated) << c.where;
    EXPECT_EQ(outcome.message, c.message) << c.where;
    EXPECT_EQ(outcome.forwarded.size(), c.forwarded) << c.where;
    EXPECT_EQ(outcome.finish_calls, 0) << c.where;
  }
  EXPECT_FALSE(read_blob(blob_).kind.has_value());
}

TEST(BlobReaderReject, FrameLengthBelowTheMinimum) {
  Bytes blob = {0x00, 0x00, 0x00, 0x1B};  // 27
  blob.resize(4 + 27);
  const Outcome outcome = read_blob(blob);
  EXPECT_EQ(outcome.kind, Kind::frame_too_short);
  EXPECT_EQ(outcome.message, "frame 1: length 27 is below the minimum 28");
}

TEST(BlobReaderReject, FrameLengthAboveTheMaximum) {
  const Outcome outcome = read_blob(Bytes{0x00, 0x10, 0x00, 0x1D});  // 1,048,605
  EXPECT_EQ(outcome.kind, Kind::frame_too_long);
  EXPECT_EQ(outcome.message, "frame 1: length 1048605 is above the maximum 1048604");
  EXPECT_EQ(read_blob(Bytes{0xFF, 0xFF, 0xFF, 0xFF}).message,
            "frame 1: length 4294967295 is above the maximum 1048604");
}

TEST(BlobReaderReject, BadLengthOfALaterFrameNamesThatFrame) {
  Bytes blob = encrypt(kHello);
  blob.resize(blob.size() - kLengthSize);  // drop the terminator
  const Outcome outcome = read_blob(concat(blob, {0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(outcome.kind, Kind::frame_too_short);
  EXPECT_EQ(outcome.message, "frame 2: length 1 is below the minimum 28");
  EXPECT_EQ(outcome.forwarded, kHello);
}

TEST(BlobReaderReject, MinimumFrameIsAccepted) {
  // A 28-byte frame carries empty plaintext; writers never emit one, but the
  // contract allows it, so readers must take it.
  const Bytes sealed = [] {
    const auto key = test_dek();
    return crypto::aes256gcm_seal(key, {});
  }();
  Bytes blob = {0x00, 0x00, 0x00, 0x1C};
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  const Outcome outcome = read_blob(concat(blob, {0, 0, 0, 0}));
  EXPECT_FALSE(outcome.kind.has_value()) << outcome.message;
  EXPECT_TRUE(outcome.forwarded.empty());
  EXPECT_EQ(outcome.finish_calls, 1);
}

TEST_F(TwoFrameBlob, FlippedBitsAreRejectedAndNothingUnauthenticatedIsForwarded) {
  struct Case {
    const char* where;
    std::size_t offset;
    std::uint8_t mask;
    Kind kind;
    const char* message;
    std::size_t forwarded;
  };
  const char* const kAuth1 = "frame 1: authentication failed (wrong key or corrupted data)";
  const char* const kAuth2 = "frame 2: authentication failed (wrong key or corrupted data)";
  const Case cases[] = {
      {"frame 1 nonce", kFrame1 + 4, 0x01, Kind::authentication_failed, kAuth1, 0},
      {"frame 1 ciphertext", kFrame1 + 16 + 5000, 0x80, Kind::authentication_failed, kAuth1, 0},
      {"frame 1 tag", kFrame2 - 1, 0x10, Kind::authentication_failed, kAuth1, 0},
      {"frame 1 length, shorter", kFrame1 + 3, 0x04, Kind::authentication_failed, kAuth1, 0},
      {"frame 1 length, too long", kFrame1 + 3, 0x01, Kind::frame_too_long,
       "frame 1: length 1048605 is above the maximum 1048604", 0},
      {"frame 2 nonce", kFrame2 + 4 + 11, 0x02, Kind::authentication_failed, kAuth2, kChunkSize},
      {"frame 2 ciphertext", kFrame2 + 16, 0x01, Kind::authentication_failed, kAuth2, kChunkSize},
      {"frame 2 tag", kTerminator - 16, 0x40, Kind::authentication_failed, kAuth2, kChunkSize},
      {"frame 2 length, shorter", kFrame2 + 3, 0x01, Kind::authentication_failed, kAuth2,
       kChunkSize},
      {"frame 2 length, longer", kFrame2 + 3, 0x40, Kind::truncated,
       "truncated blob: input ended inside frame 2", kChunkSize},
      {"terminator", kTerminator + 3, 0x01, Kind::frame_too_short,
       "frame 3: length 1 is below the minimum 28", kChunkSize + 1},
  };
  for (const Case& c : cases) {
    const Outcome outcome = read_blob(with_flipped_bit(blob_, c.offset, c.mask));
    EXPECT_EQ(outcome.kind, c.kind) << c.where;
    EXPECT_EQ(outcome.message, c.message) << c.where;
    EXPECT_EQ(outcome.forwarded.size(), c.forwarded) << c.where;
    if (c.forwarded == kChunkSize) {
      EXPECT_EQ(outcome.forwarded, first_frame_plaintext()) << c.where;
    }
    EXPECT_EQ(outcome.finish_calls, 0) << c.where;
  }
}

TEST(BlobReaderReject, EverySingleBitFlipOfAOneFrameBlobIsDetected) {
  const Bytes blob = encrypt(kHello);
  for (std::size_t offset = 0; offset < blob.size(); ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      const Outcome outcome =
          read_blob(with_flipped_bit(blob, offset, static_cast<std::uint8_t>(1u << bit)));
      EXPECT_TRUE(outcome.kind.has_value()) << "byte " << offset << " bit " << bit;
      // Only the authentic frame may come out, and only when the flip hit the terminator.
      EXPECT_EQ(outcome.forwarded, offset < 37 ? Bytes{} : kHello)
          << "byte " << offset << " bit " << bit;
      EXPECT_EQ(outcome.finish_calls, 0);
    }
  }
}

TEST_F(TwoFrameBlob, WrongKey) {
  auto key = test_dek();
  key[31] ^= 0x01;
  const Outcome outcome = read_blob(blob_, key);
  EXPECT_EQ(outcome.kind, Kind::authentication_failed);
  EXPECT_EQ(outcome.message, "frame 1: authentication failed (wrong key or corrupted data)");
  EXPECT_TRUE(outcome.forwarded.empty());
}

TEST(BlobReaderReject, DataAfterTheTerminator) {
  const Bytes blob = encrypt(kHello);
  for (const Bytes& extra : {Bytes{0x00}, Bytes{0x00, 0x00, 0x00, 0x00}, Bytes{'x', 'y'}}) {
    Bytes with_extra = blob;
    with_extra.insert(with_extra.end(), extra.begin(), extra.end());
    const Outcome outcome = read_blob(with_extra);
    EXPECT_EQ(outcome.kind, Kind::data_after_terminator);
    EXPECT_EQ(outcome.message, "data after the terminator");
    EXPECT_EQ(outcome.finish_calls, 0);
  }
  EXPECT_EQ(read_blob(concat(encrypt({}), {0x00})).kind, Kind::data_after_terminator);
}

TEST(BlobReaderReject, DataAfterTheTerminatorInALaterWrite) {
  const Bytes blob = encrypt(kHello);
  CollectingSink out;
  BlobReader reader(test_dek(), out);
  reader.write(blob);
  reader.write(std::span<const std::uint8_t>{});  // empty writes are always fine
  try {
    reader.write("!");
    FAIL() << "expected a BlobError";
  } catch (const BlobError& error) {
    EXPECT_EQ(error.kind(), Kind::data_after_terminator);
  }
}

}  // namespace
}  // namespace backupy::blob
