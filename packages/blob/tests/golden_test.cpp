// Known-answer tests: BlobWriter must produce the contract's bytes exactly.
//
// The expected values were produced once, independently of this code, with
// Node.js 20's crypto module (Node 20.20.2, OpenSSL behind a different API):
//
//   const crypto = require('crypto');
//   const key = Buffer.from([...Array(32).keys()]);              // bytes 0..31
//   function blob(pt) {
//     let k = 0; const parts = [];
//     for (let off = 0; off < pt.length; off += 1 << 20) {
//       const iv = Buffer.alloc(12); iv.writeUInt32BE(++k, 8);   // nonce k
//       const c = crypto.createCipheriv('aes-256-gcm', key, iv);
//       const ct = Buffer.concat([c.update(pt.subarray(off, off + (1 << 20))), c.final()]);
//       const len = Buffer.alloc(4); len.writeUInt32BE(12 + ct.length + 16);
//       parts.push(len, iv, ct, c.getAuthTag());
//     }
//     parts.push(Buffer.alloc(4));
//     return Buffer.concat(parts);
//   }
//   // plaintexts: '', 'hello', and byte i = i % 251 for 1 MiB and 1 MiB + 1;
//   // printed: full hex, or sha256 + first 64 bytes (+ the tail for 1 MiB + 1)
#include <gtest/gtest.h>

#include <string>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "blob_test_support.hpp"

namespace backupy::blob {
namespace {

using testing::Bytes;
using testing::encrypt;
using testing::pattern;

std::string head_hex(const Bytes& bytes, std::size_t count) {
  return core::to_hex(std::span(bytes).first(count));
}

std::string tail_hex(const Bytes& bytes, std::size_t count) {
  return core::to_hex(std::span(bytes).last(count));
}

TEST(BlobGolden, EmptyPlaintextIsTheTerminatorOnly) {
  EXPECT_EQ(core::to_hex(encrypt({})), "00000000");
}

TEST(BlobGolden, FiveBytes) {
  EXPECT_EQ(core::to_hex(encrypt(crypto::as_bytes("hello"))),
            "00000021"                          // frame_len = 12 + 5 + 16
            "000000000000000000000001"          // nonce 1
            "7db3d3902b"                        // ciphertext
            "668586cf2edee656e1ea5fe36d7bf3d1"  // tag
            "00000000");                        // terminator
}

TEST(BlobGolden, ExactlyOneMebibyteIsOneFullFrame) {
  const Bytes blob = encrypt(pattern(kChunkSize));
  EXPECT_EQ(blob.size(), 1'048'612u);
  EXPECT_EQ(crypto::sha256_hex(blob),
            "462af3e96b261da34cec85c97f5b0227975eab72e5106ff64594d22fe3e7f002");
  EXPECT_EQ(head_hex(blob, 64),
            "0010001c00000000000000000000000115d7bdff40f1361906275b32e0ab34f8058e0e4770a742936b19"
            "19c23a2d6d411ab745d20c09a21b71f6e92a40c9291c");
  EXPECT_EQ(tail_hex(blob, 4), "00000000");
}

TEST(BlobGolden, OneMebibytePlusOneIsAFullFrameAndAOneByteFrame) {
  const Bytes blob = encrypt(pattern(kChunkSize + 1));
  EXPECT_EQ(blob.size(), 1'048'645u);
  EXPECT_EQ(crypto::sha256_hex(blob),
            "24a62f7c281c9c2b40531e0928ebd152dee921105576d6103b771cdfc87bfe0f");
  EXPECT_EQ(head_hex(blob, 64),
            "0010001c00000000000000000000000115d7bdff40f1361906275b32e0ab34f8058e0e4770a742936b19"
            "19c23a2d6d411ab745d20c09a21b71f6e92a40c9291c");
  EXPECT_EQ(tail_hex(blob, 37),
            "0000001d"                                    // frame_len = 12 + 1 + 16
            "000000000000000000000002"                    // nonce 2
            "5c"                                          // ciphertext
            "f779e27470defa004c5a7de723c4893a00000000");  // tag, terminator
}

TEST(BlobGolden, ReaderOpensTheGoldenBlobs) {
  for (std::size_t size : {std::size_t{0}, std::size_t{5}, kChunkSize, kChunkSize + 1}) {
    const Bytes plaintext = pattern(size);
    testing::CollectingSink out;
    BlobReader reader(testing::test_dek(), out);
    reader.write(encrypt(plaintext));
    reader.finish();
    EXPECT_EQ(out.bytes, plaintext) << "size " << size;
    EXPECT_EQ(out.finish_calls, 1);
  }
}

}  // namespace
}  // namespace backupy::blob
