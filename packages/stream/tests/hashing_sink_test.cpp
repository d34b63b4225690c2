#include "backupy/stream/hashing_sink.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "backupy/crypto/crypto.hpp"
#include "backupy/stream/memory_sink.hpp"

namespace backupy::stream {
namespace {

TEST(HashingSinkTest, HashesCountsAndForwards) {
  MemorySink memory;
  HashingSink hashing(&memory);
  hashing.write("a");
  hashing.write("");
  hashing.write("bc");
  hashing.finish();
  EXPECT_EQ(hashing.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hashing.sha256(), crypto::sha256(crypto::as_bytes("abc")));
  EXPECT_EQ(hashing.bytes(), 3u);
  EXPECT_EQ(memory.data(), "abc");
  EXPECT_TRUE(memory.finished());
}

TEST(HashingSinkTest, TerminalSinkHashesEmptyStream) {
  HashingSink hashing;
  hashing.finish();
  EXPECT_EQ(hashing.sha256_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hashing.bytes(), 0u);
}

TEST(HashingSinkTest, LargeStreamInPiecesEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>(i * 131 + i / 7);
  HashingSink hashing;
  for (std::size_t offset = 0; offset < data.size(); offset += 4099) {
    hashing.write(std::string_view(data).substr(offset, 4099));
  }
  hashing.finish();
  EXPECT_EQ(hashing.sha256_hex(), crypto::sha256_hex(crypto::as_bytes(data)));
  EXPECT_EQ(hashing.bytes(), data.size());
}

TEST(HashingSinkTest, DigestBeforeFinishAndWriteAfterFinishAreErrors) {
  HashingSink hashing;
  hashing.write("x");
  EXPECT_THROW((void)hashing.sha256_hex(), std::logic_error);
  hashing.finish();
  EXPECT_THROW(hashing.write("y"), std::logic_error);
  EXPECT_THROW(hashing.finish(), std::logic_error);
}

}  // namespace
}  // namespace backupy::stream
