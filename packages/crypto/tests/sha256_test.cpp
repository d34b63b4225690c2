#include <gtest/gtest.h>

#include <string>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::crypto {
namespace {

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(sha256_hex(as_bytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(as_bytes("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(core::to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 10000; ++i) data += static_cast<char>(i * 31 + 7);
  Sha256 hasher;
  // Uneven pieces, including empty ones, crossing block boundaries.
  std::size_t offset = 0;
  for (std::size_t piece : {0u, 1u, 63u, 64u, 65u, 0u, 1000u}) {
    hasher.update(as_bytes(std::string_view(data).substr(offset, piece)));
    offset += piece;
  }
  hasher.update(as_bytes(std::string_view(data).substr(offset)));
  EXPECT_EQ(hasher.finish(), sha256(as_bytes(data)));
}

TEST(Sha256Test, FinishResetsForReuse) {
  Sha256 hasher;
  hasher.update(as_bytes("something else"));
  (void)hasher.finish();
  hasher.update(as_bytes("abc"));
  EXPECT_EQ(hasher.finish(), sha256(as_bytes("abc")));
}

}  // namespace
}  // namespace backupy::crypto
