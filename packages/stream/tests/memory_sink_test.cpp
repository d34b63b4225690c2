#include "backupy/stream/memory_sink.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace backupy::stream {
namespace {

TEST(MemorySinkTest, CollectsBinaryDataAndHandsItOut) {
  MemorySink memory;
  memory.write(std::string_view("a\0b", 3));
  memory.write("");
  EXPECT_FALSE(memory.finished());
  memory.finish();
  EXPECT_TRUE(memory.finished());
  EXPECT_EQ(memory.data(), std::string("a\0b", 3));
  EXPECT_EQ(memory.take(), std::string("a\0b", 3));
  EXPECT_THROW(memory.write("x"), std::logic_error);
}

}  // namespace
}  // namespace backupy::stream
