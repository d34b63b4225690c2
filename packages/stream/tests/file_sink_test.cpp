#include "backupy/stream/file_sink.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "backupy/core/files.hpp"
#include "fd_io.hpp"

namespace backupy::stream {
namespace {

std::span<const std::uint8_t> as_span(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

struct UmaskGuard {
  explicit UmaskGuard(mode_t mask) : previous(::umask(mask)) {}
  ~UmaskGuard() { ::umask(previous); }
  mode_t previous;
};

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/backupy-file-sink-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919) >> 3);
    return data;
  }

  std::filesystem::path dir_;
};

TEST_F(FileSinkTest, WritesBufferedAndLargePiecesInOrderWithMode0600) {
  const auto path = dir_ / "spool.bin";
  const std::string data = pattern(100000);
  {
    std::unique_ptr<FileSink> created;
    {
      UmaskGuard strict(0277);  // would leave 0400 without the fchmod
      created = std::make_unique<FileSink>(path, 64);
    }
    FileSink& sink = *created;
    // Pieces below, equal to and above the 64-byte buffer, and empty ones.
    std::size_t offset = 0;
    for (std::size_t piece : {1u, 0u, 10u, 63u, 64u, 65u, 1000u, 3u, 0u, 50000u}) {
      sink.write(std::string_view(data).substr(offset, piece));
      offset += piece;
    }
    sink.write(std::string_view(data).substr(offset));
    EXPECT_EQ(sink.bytes(), data.size());
    sink.finish();
    EXPECT_TRUE(sink.finished());
    sink.keep();
  }
  EXPECT_EQ(core::read_file(path), data);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileSinkTest, ReleaseKeepsTheFileAndReturnsItsPath) {
  const auto path = dir_ / "released";
  std::filesystem::path released;
  {
    FileSink sink(path);
    sink.write("payload");
    sink.finish();
    released = sink.release();
  }
  EXPECT_EQ(released, path);
  EXPECT_EQ(core::read_file(path), "payload");
}

TEST_F(FileSinkTest, UnfinishedSinkRemovesItsPartialFile) {
  const auto path = dir_ / "partial";
  {
    FileSink sink(path, 16);
    sink.write(pattern(1000));  // reaches the disk: larger than the buffer
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(FileSinkTest, FinishedButNotKeptFileIsRemoved) {
  // The run can still fail after the stream ended (dump exit status).
  const auto path = dir_ / "unvetted";
  {
    FileSink sink(path);
    sink.write("complete");
    sink.finish();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(FileSinkTest, KeepBeforeFinishAndWriteAfterFinishAreErrors) {
  FileSink sink(dir_ / "x");
  EXPECT_THROW(sink.keep(), std::logic_error);
  sink.finish();
  EXPECT_THROW(sink.write("late"), std::logic_error);
  EXPECT_THROW(sink.finish(), std::logic_error);
}

TEST_F(FileSinkTest, ExistingFileIsNeitherOverwrittenNorRemoved) {
  const auto path = dir_ / "taken";
  core::write_file_atomically(path, "another run's file");
  try {
    FileSink sink(path);
    FAIL() << "creating over an existing file must fail";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::file_exists);
    EXPECT_NE(std::string(e.what()).find("cannot create " + path.string()), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(core::read_file(path), "another run's file");
}

TEST_F(FileSinkTest, MissingDirectoryNamesThePath) {
  const auto path = dir_ / "no-such-dir" / "spool";
  try {
    FileSink sink(path);
    FAIL() << "must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
}

TEST(FileSinkWriteTest, FullDiskIsReportedWithTheExactMessage) {
  // /dev/full answers every write with ENOSPC.
  core::UniqueFd fd(::open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fd) << "/dev/full is needed for this test";
  const std::string data(1000, 'x');
  try {
    detail::write_all(fd.get(), as_span(data), "/spool/run-1.bin");
    FAIL() << "must throw";
  } catch (const NoSpaceError& e) {
    EXPECT_STREQ(e.what(), "no space left on device while writing /spool/run-1.bin");
    EXPECT_EQ(e.code(), std::errc::no_space_on_device);
  }
  // Callers that only know std::system_error still see it as one.
  EXPECT_THROW(detail::write_all(fd.get(), as_span(data), "/spool/x"), std::system_error);
}

TEST(FileSinkWriteTest, OtherWriteErrorsNameThePath) {
  core::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  try {
    detail::write_all(fd.get(), as_span("x"), "/spool/run-2.bin");
    FAIL() << "must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    EXPECT_NE(std::string(e.what()).find("cannot write /spool/run-2.bin"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace backupy::stream
