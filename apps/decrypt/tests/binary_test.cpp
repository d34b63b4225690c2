// Runs the built backupy-decrypt through a shell pipe: proves that
// --in - --out - streams standard input to standard output, and that exit
// codes and the error line reach the caller.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "test_support.hpp"

namespace backupy::decrypt {
namespace {

using testing::kTestKeyHex;
using testing::make_blob;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

// Runs a shell command; returns its exit code (-1 if it did not exit).
int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";  // test paths never contain quotes
}

class DecryptBinary : public ::testing::Test {
 protected:
  void SetUp() override { write_file(dir_ / "key", std::string(kTestKeyHex) + "\n"); }
  // cat BLOB | backupy-decrypt ... --in - --out - > out 2> err
  int run_pipe(const std::string& blob, const std::string& extra = "") {
    write_file(dir_ / "blob", blob);
    return shell("cat " + quoted(dir_ / "blob") + " | " + BACKUPY_DECRYPT_BINARY + " --key-file " +
                 quoted(dir_ / "key") + " --in - --out - " + extra + " > " + quoted(dir_ / "out") +
                 " 2> " + quoted(dir_ / "err"));
  }
  TempDir dir_;
};

TEST_F(DecryptBinary, StreamsStandardInputToStandardOutput) {
  const std::string plaintext = testing::sample_plaintext();
  const std::string blob = make_blob(plaintext);
  EXPECT_EQ(run_pipe(blob, "--expect-sha256 " + testing::sha256_hex(blob)), 0)
      << read_file(dir_ / "err");
  EXPECT_EQ(read_file(dir_ / "out"), plaintext);
  EXPECT_EQ(read_file(dir_ / "err"), "");  // stderr is a file: no progress
}

TEST_F(DecryptBinary, FailureIsTheExitCodeAndOneLine) {
  const std::string blob = make_blob(testing::sample_plaintext(100));
  EXPECT_EQ(run_pipe(blob.substr(0, blob.size() - 4)), 1);
  EXPECT_EQ(read_file(dir_ / "err"), "backupy-decrypt: truncated blob: missing terminator\n");
}

TEST_F(DecryptBinary, UsageErrorExitsWithTwo) {
  EXPECT_EQ(shell(std::string(BACKUPY_DECRYPT_BINARY) + " --in - 2> " + quoted(dir_ / "err")), 2);
  EXPECT_TRUE(read_file(dir_ / "err").starts_with("backupy-decrypt: a key is required"));
}

}  // namespace
}  // namespace backupy::decrypt
