#include "key_source.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "backupy/token/testing/jwt_builder.hpp"
#include "failure.hpp"
#include "test_support.hpp"

namespace backupy::decrypt {
namespace {

using testing::kTestKeyHex;
using testing::TempDir;
using testing::test_key;
using testing::write_file;

const auto kNow = std::chrono::system_clock::time_point(
    std::chrono::seconds(token::testing::kTestExpiresAt - 60));

std::string failure_of(KeySource source, const std::string& value) {
  try {
    resolve_key(source, value, kNow);
  } catch (const Failure& failure) {
    return failure.what();
  }
  return "";
}

bool is_test_key(const ResolvedKey& resolved) {
  return std::ranges::equal(resolved.key.bytes(), test_key());
}

TEST(KeySource, KeyHex) {
  EXPECT_TRUE(is_test_key(resolve_key(KeySource::key_hex, kTestKeyHex, kNow)));
}

TEST(KeySource, KeyFileWithRawBytesOrHex) {
  TempDir dir;
  const auto key = test_key();
  write_file(dir / "raw", std::string(key.begin(), key.end()));
  write_file(dir / "hex", kTestKeyHex);
  write_file(dir / "hex-lf", std::string(kTestKeyHex) + "\n");
  write_file(dir / "hex-crlf", std::string(kTestKeyHex) + "\r\n");
  for (const char* name : {"raw", "hex", "hex-lf", "hex-crlf"}) {
    const auto resolved = resolve_key(KeySource::key_file, (dir / name).string(), kNow);
    EXPECT_TRUE(is_test_key(resolved)) << name;
    EXPECT_FALSE(resolved.token_sha256.has_value());
  }
}

TEST(KeySource, KeyFileErrorsNameTheFileButNotItsContent) {
  TempDir dir;
  const std::string path = (dir / "k").string();
  write_file(path, std::string(kTestKeyHex) + "\n\n");
  EXPECT_EQ(failure_of(KeySource::key_file, path),
            "key file " + path + " must hold 32 raw bytes or 64 hex characters, got 66 bytes");
  write_file(path, std::string(kTestKeyHex).substr(0, 63) + "x");
  EXPECT_EQ(failure_of(KeySource::key_file, path),
            "key file " + path + " must hold 32 raw bytes or 64 hex characters, got 64 bytes");
  EXPECT_EQ(failure_of(KeySource::key_file, (dir / "missing").string()),
            "cannot open key file " + (dir / "missing").string() + ": No such file or directory");
  EXPECT_EQ(failure_of(KeySource::key_file, dir.path().string()),
            "key file " + dir.path().string() + " is a directory");
  EXPECT_EQ(failure_of(KeySource::key_file, "/dev/zero"),
            "key file /dev/zero is larger than 1024 bytes");
}

TEST(KeySource, TokenAndTokenFile) {
  TempDir dir;
  auto payload = token::testing::valid_payload();
  payload["sha256"] = std::string(64, 'b');
  const std::string jwt = token::testing::make_jwt(payload);
  write_file(dir / "t.jwt", jwt + "\n");
  for (const auto& [source, value] : {std::pair{KeySource::token, jwt},
                                      std::pair{KeySource::token_file, (dir / "t.jwt").string()}}) {
    const auto resolved = resolve_key(source, value, kNow);
    EXPECT_TRUE(is_test_key(resolved));
    EXPECT_EQ(resolved.token_sha256, std::string(64, 'b'));
  }
}

TEST(KeySource, TokenErrorsAreReportedAsIs) {
  TempDir dir;
  const std::string expired = token::testing::make_jwt(token::testing::valid_payload());
  const auto late = std::chrono::system_clock::time_point(
      std::chrono::seconds(token::testing::kTestExpiresAt + 1));
  try {
    resolve_key(KeySource::token, expired, late);
    FAIL() << "expected a Failure";
  } catch (const Failure& failure) {
    EXPECT_STREQ(failure.what(), "token expired at 2026-11-25T11:06:40Z");
  }
  write_file(dir / "empty", "");
  EXPECT_EQ(failure_of(KeySource::token_file, (dir / "empty").string()), "token is empty");
  EXPECT_EQ(failure_of(KeySource::token_file, "/dev/zero"),
            "token file /dev/zero is larger than 65536 bytes");
}

}  // namespace
}  // namespace backupy::decrypt
