// End-to-end runs of the command, in-process, over real files: blobs are made
// by the writer side (zstd compressor → BlobWriter) from known plaintext.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "backupy/token/testing/jwt_builder.hpp"
#include "test_support.hpp"

namespace backupy::decrypt {
namespace {

using testing::kTestKeyHex;
using testing::make_blob;
using testing::read_file;
using testing::run_decrypt;
using testing::sha256_hex;
using testing::TempDir;
using testing::write_file;
using Strings = std::vector<std::string>;

const auto kBeforeExpiry = std::chrono::system_clock::time_point(
    std::chrono::seconds(token::testing::kTestExpiresAt - 60));

class DecryptCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    blob_ = make_blob(plaintext());
    write_file(blob_path(), blob_);
  }
  static const std::string& plaintext() {
    static const std::string text = testing::sample_plaintext();
    return text;
  }
  std::string blob_path() const { return (dir_ / "backup.zst.enc").string(); }
  std::string out_path() const { return (dir_ / "restored.sql").string(); }
  // Only the blob (and whatever the test expects) may be in the directory.
  Strings entries() const { return dir_.entries(); }

  Strings args_with_key(Strings extra) const {
    Strings args = {"--key-hex", kTestKeyHex, "--in", blob_path(), "--out", out_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  TempDir dir_;
  std::string blob_;
};

TEST_F(DecryptCommand, DecryptsAndDecompressesIntoAFile) {
  ASSERT_GT(blob_.size(), 2u * 1024 * 1024) << "want a blob of several frames";
  const auto result = run_decrypt(args_with_key({}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(read_file(out_path()), plaintext());
  EXPECT_EQ(entries(), (Strings{"backup.zst.enc", "restored.sql"}));
  struct stat info {};
  ASSERT_EQ(::stat(out_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(DecryptCommand, ReplacesAnExistingOutputOnlyOnSuccess) {
  write_file(out_path(), "old");
  auto result = run_decrypt(args_with_key({"--expect-sha256", std::string(64, '0')}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(read_file(out_path()), "old");
  result = run_decrypt(args_with_key({}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_file(out_path()), plaintext());
}

TEST_F(DecryptCommand, ExpectSha256Correct) {
  const auto result = run_decrypt(args_with_key({"--expect-sha256", sha256_hex(blob_)}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_file(out_path()), plaintext());
}

TEST_F(DecryptCommand, ExpectSha256AcceptsUppercase) {
  std::string upper = sha256_hex(blob_);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(run_decrypt(args_with_key({"--expect-sha256", upper})).exit_code, 0);
}

TEST_F(DecryptCommand, Sha256MismatchLeavesNoOutputFile) {
  const std::string wrong(64, 'e');
  const auto result = run_decrypt(args_with_key({"--expect-sha256", wrong}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: sha256 mismatch: expected " + wrong + ", got " +
                            sha256_hex(blob_) + "\n");
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, TruncatedInputLeavesNoOutputFile) {
  for (std::size_t size : {blob_.size() - 4, blob_.size() - 2, std::size_t{1024 * 1024 + 100}}) {
    write_file(blob_path(), std::string_view(blob_).substr(0, size));
    const auto result = run_decrypt(args_with_key({}));
    EXPECT_EQ(result.exit_code, 1) << size;
    EXPECT_TRUE(result.err.starts_with("backupy-decrypt: truncated blob: ")) << result.err;
    EXPECT_EQ(entries(), Strings{"backup.zst.enc"}) << size;
  }
}

TEST_F(DecryptCommand, CorruptedLaterFrameLeavesNoOutputFile) {
  std::string corrupted = blob_;
  corrupted[4 + 1'048'604 + 4 + 100] ^= 0x20;  // inside frame 2's ciphertext
  write_file(blob_path(), corrupted);
  const auto result = run_decrypt(args_with_key({}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "backupy-decrypt: frame 2: authentication failed (wrong key or corrupted data)\n");
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, WrongKey) {
  std::string other_key = kTestKeyHex;
  other_key[0] = 'f';
  const auto result =
      run_decrypt({"--key-hex", other_key, "--in", blob_path(), "--out", out_path()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err,
            "backupy-decrypt: frame 1: authentication failed (wrong key or corrupted data)\n");
  EXPECT_EQ(result.err.find(other_key), std::string::npos);
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, TokenWithItsSha256Claim) {
  auto payload = token::testing::valid_payload();
  payload["sha256"] = sha256_hex(blob_);
  write_file(dir_ / "token", token::testing::make_jwt(payload));
  auto result = run_decrypt(
      {"--token-file", (dir_ / "token").string(), "--in", blob_path(), "--out", out_path()},
      kBeforeExpiry);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_file(out_path()), plaintext());
}

TEST_F(DecryptCommand, TokenSha256ClaimIsEnforcedUnlessOverridden) {
  auto payload = token::testing::valid_payload();
  payload["sha256"] = std::string(64, 'c');
  const std::string jwt = token::testing::make_jwt(payload);
  auto result =
      run_decrypt({"--token", jwt, "--in", blob_path(), "--out", out_path()}, kBeforeExpiry);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(result.err.starts_with("backupy-decrypt: sha256 mismatch: expected cccc"))
      << result.err;
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});

  // An explicit --expect-sha256 wins over the claim.
  result = run_decrypt({"--token", jwt, "--in", blob_path(), "--out", out_path(), "--expect-sha256",
                        sha256_hex(blob_)},
                       kBeforeExpiry);
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

TEST_F(DecryptCommand, ExpiredTokenTouchesNothing) {
  const std::string jwt = token::testing::make_jwt(token::testing::valid_payload());
  const auto result = run_decrypt(
      {"--token", jwt, "--in", blob_path(), "--out", out_path()},
      std::chrono::system_clock::time_point(std::chrono::seconds(token::testing::kTestExpiresAt)));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: token expired at 2026-11-25T11:06:40Z\n");
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, SkipDecompressWritesTheZstdStream) {
  const auto result = run_decrypt(args_with_key({"--skip-decompress"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const std::string zstd = read_file(out_path());
  ASSERT_GE(zstd.size(), 4u);
  EXPECT_EQ(zstd.substr(0, 4), std::string("\x28\xB5\x2F\xFD", 4));  // zstd frame magic
  // Exactly the compressed stream: blobbing it again without compression
  // gives a blob that decrypts to the same bytes.
  write_file(blob_path(), make_blob(zstd, /*compress=*/false));
  EXPECT_EQ(run_decrypt(args_with_key({})).exit_code, 0);
  EXPECT_EQ(read_file(out_path()), plaintext());
}

TEST_F(DecryptCommand, RejectsAPlaintextThatIsNotZstd) {
  write_file(blob_path(), make_blob("PGDMP not compressed", /*compress=*/false));
  auto result = run_decrypt(args_with_key({}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: not a zstd stream (bad magic)\n");
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
  // The same blob is fine when decompression is skipped.
  result = run_decrypt(args_with_key({"--skip-decompress"}));
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(read_file(out_path()), "PGDMP not compressed");
}

TEST_F(DecryptCommand, RejectsATruncatedZstdStreamInsideAValidBlob) {
  const auto result0 = run_decrypt(args_with_key({"--skip-decompress"}));
  ASSERT_EQ(result0.exit_code, 0);
  const std::string zstd = read_file(out_path());
  std::filesystem::remove(out_path());
  write_file(blob_path(), make_blob(std::string_view(zstd).substr(0, zstd.size() - 10), false));
  const auto result = run_decrypt(args_with_key({}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: truncated zstd stream\n");
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, StreamsToTheStandardOutputDescriptor) {
  const std::string sink_path = (dir_ / "stdout").string();
  const int fd = ::open(sink_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::ostringstream out, err;
  const Environment env{.out = out, .err = err, .stdin_fd = -1, .stdout_fd = fd};
  const int code = run({"--key-hex", kTestKeyHex, "--in", blob_path(), "--out", "-"}, env);
  ::close(fd);
  EXPECT_EQ(code, 0) << err.str();
  EXPECT_EQ(read_file(sink_path), plaintext());
}

TEST_F(DecryptCommand, FileSystemProblems) {
  auto result = run_decrypt(
      {"--key-hex", kTestKeyHex, "--in", (dir_ / "nope").string(), "--out", out_path()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: cannot open " + (dir_ / "nope").string() +
                            ": No such file or directory\n");

  result = run_decrypt({"--key-hex", kTestKeyHex, "--in", blob_path(), "--out", blob_path()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: --in and --out name the same file\n");
  EXPECT_EQ(read_file(blob_path()), blob_);

  result =
      run_decrypt({"--key-hex", kTestKeyHex, "--in", blob_path(), "--out", dir_.path().string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: --out " + dir_.path().string() + " is a directory\n");

  result =
      run_decrypt({"--key-hex", kTestKeyHex, "--in", dir_.path().string(), "--out", out_path()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.err, "backupy-decrypt: --in " + dir_.path().string() + " is a directory\n");

  const std::string no_dir = (dir_ / "missing-dir" / "out.sql").string();
  result = run_decrypt({"--key-hex", kTestKeyHex, "--in", blob_path(), "--out", no_dir});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(result.err.starts_with("backupy-decrypt: cannot create " +
                                     (dir_ / "missing-dir").string() + "/.out.sql.partial-"))
      << result.err;
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, UsageErrorsExitWithTwoAndTheUsageText) {
  const auto result = run_decrypt({"--in", blob_path(), "--out", out_path()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_TRUE(result.err.starts_with(
      "backupy-decrypt: a key is required: --token, --token-file, --key-hex or --key-file\n\n"
      "usage: backupy-decrypt"))
      << result.err;
  EXPECT_EQ(entries(), Strings{"backup.zst.enc"});
}

TEST_F(DecryptCommand, HelpAndVersion) {
  auto result = run_decrypt({"--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.out.starts_with("usage: backupy-decrypt")) << result.out;
  result = run_decrypt({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_TRUE(result.out.starts_with("backupy-decrypt ")) << result.out;
  EXPECT_NE(result.out.find("encrypted blob format v1"), std::string::npos);
}

TEST_F(DecryptCommand, ProgressOnlyForATerminalAndNotWhenQuiet) {
  std::ostringstream out, err;
  Environment env{
      .out = out, .err = err, .stdin_fd = -1, .stdout_fd = -1, .stderr_is_terminal = true};
  EXPECT_EQ(run(args_with_key({}), env), 0);
  EXPECT_TRUE(err.str().starts_with("\rbackupy-decrypt: read ")) << err.str();
  EXPECT_NE(err.str().find("(100%)"), std::string::npos) << err.str();
  EXPECT_TRUE(err.str().ends_with("\n"));

  std::ostringstream quiet_err;
  Environment quiet{
      .out = out, .err = quiet_err, .stdin_fd = -1, .stdout_fd = -1, .stderr_is_terminal = true};
  EXPECT_EQ(run(args_with_key({"--quiet"}), quiet), 0);
  EXPECT_EQ(quiet_err.str(), "");
}

TEST_F(DecryptCommand, AnErrorAfterProgressStartsOnItsOwnLine) {
  std::ostringstream out, err;
  Environment env{
      .out = out, .err = err, .stdin_fd = -1, .stdout_fd = -1, .stderr_is_terminal = true};
  EXPECT_EQ(run(args_with_key({"--expect-sha256", std::string(64, '1')}), env), 1);
  EXPECT_NE(err.str().find("\nbackupy-decrypt: sha256 mismatch"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace backupy::decrypt
