#include "backupy/core/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <system_error>

namespace backupy::core {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/backupy-files-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FilesTest, AtomicWriteReplacesContentWithRequestedMode) {
  const auto path = dir_ / "state.json";
  write_file_atomically(path, "one", 0600);
  write_file_atomically(path, "two", 0640);
  EXPECT_EQ(read_file(path), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST_F(FilesTest, ReadMissingFileIsNullopt) {
  EXPECT_FALSE(read_file(dir_ / "nope").has_value());
}

TEST_F(FilesTest, SecondLockOnSameFileFailsWithClearMessage) {
  FileLock first(dir_ / "agent.lock");
  try {
    FileLock second(dir_ / "agent.lock");
    FAIL() << "second lock must fail";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("another agent already uses this state directory"),
              std::string::npos);
  }
}

TEST_F(FilesTest, EnsurePrivateDirCreatesNestedDirectory) {
  const auto nested = dir_ / "a" / "b";
  ensure_private_dir(nested);
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  write_file_atomically(nested / "file", "x");
  EXPECT_THROW(ensure_private_dir(nested / "file" / "sub"), std::system_error);
}

TEST_F(FilesTest, PrivateFileIsExclusive0600AndRemovedWithItsOwner) {
  const auto path = dir_ / "secret";
  {
    PrivateFile file(path, "*:*:*:*:pw\n");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(read_file(path), "*:*:*:*:pw\n");
    // Never reuses (or truncates) an existing file: someone else's is not ours.
    EXPECT_THROW(PrivateFile(path, "other"), std::system_error);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace backupy::core
