#include "backupy/stream/copy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "backupy/core/files.hpp"
#include "backupy/stream/memory_sink.hpp"

namespace backupy::stream {
namespace {

struct Pipe {
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category());
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
  core::UniqueFd read_end;
  core::UniqueFd write_end;
};

void write_fully(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "test writer");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string pattern(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i ^ (i >> 9));
  return data;
}

TEST(CopyTest, CopiesAPipeUntilEofWithoutFinishingTheSink) {
  Pipe pipe;
  const std::string data = pattern(3 * 1024 * 1024 + 17);  // far more than a pipe holds
  std::thread writer([&] {
    write_fully(pipe.write_end.get(), data);
    pipe.write_end.reset();
  });
  MemorySink sink;
  copy_fd_to_sink(pipe.read_end.get(), sink, 4096);
  writer.join();
  EXPECT_EQ(sink.data(), data);
  EXPECT_FALSE(sink.finished());  // the caller decides when the stream is complete
}

TEST(CopyTest, EmptyInputWritesNothing) {
  Pipe pipe;
  pipe.write_end.reset();
  MemorySink sink;
  copy_fd_to_sink(pipe.read_end.get(), sink);
  EXPECT_TRUE(sink.data().empty());
}

TEST(CopyTest, NonBlockingPipeWaitsForSlowWriter) {
  Pipe pipe;
  ASSERT_EQ(::fcntl(pipe.read_end.get(), F_SETFL, O_NONBLOCK), 0);
  std::thread writer([&] {
    for (int i = 0; i < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      write_fully(pipe.write_end.get(), "chunk;");
    }
    pipe.write_end.reset();
  });
  MemorySink sink;
  copy_fd_to_sink(pipe.read_end.get(), sink);
  writer.join();
  EXPECT_EQ(sink.data(), "chunk;chunk;chunk;chunk;chunk;");
}

TEST(CopyTest, ReadErrorAndBadBufferSizeThrow) {
  MemorySink sink;
  try {
    copy_fd_to_sink(-1, sink);
    FAIL() << "must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    EXPECT_NE(std::string(e.what()).find("cannot read fd -1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(copy_fd_to_sink(0, sink, 0), std::invalid_argument);
}

}  // namespace
}  // namespace backupy::stream
