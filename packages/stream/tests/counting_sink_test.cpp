#include "backupy/stream/counting_sink.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "backupy/stream/memory_sink.hpp"

namespace backupy::stream {
namespace {

TEST(CountingSinkTest, CountsAndForwards) {
  MemorySink memory;
  CountingSink counting(&memory);
  counting.write("hello ");
  counting.write("world");
  EXPECT_EQ(counting.bytes(), 11u);
  EXPECT_FALSE(memory.finished());
  counting.finish();
  EXPECT_TRUE(memory.finished());
  EXPECT_EQ(memory.data(), "hello world");
}

TEST(CountingSinkTest, ReportsProgressEachTimeAMultipleIsCrossedAndAtFinish) {
  std::vector<std::uint64_t> reports;
  CountingSink counting(nullptr, 10, [&](std::uint64_t total) { reports.push_back(total); });
  counting.write("abc");  // 3
  counting.write("abc");  // 6
  counting.write("abc");  // 9
  EXPECT_TRUE(reports.empty());
  counting.write("abc");                 // 12: crosses 10
  counting.write(std::string(8, 'x'));   // 20: crosses 20
  counting.write(std::string(25, 'x'));  // 45: crosses 30 and 40, one report
  counting.write("zz");                  // 47
  counting.finish();                     // final total not yet reported
  EXPECT_EQ(reports, (std::vector<std::uint64_t>{12, 20, 45, 47}));
}

TEST(CountingSinkTest, FinishDoesNotRepeatAnAlreadyReportedTotal) {
  std::vector<std::uint64_t> reports;
  CountingSink counting(nullptr, 4, [&](std::uint64_t total) { reports.push_back(total); });
  counting.write("abcd");
  counting.finish();
  EXPECT_EQ(reports, (std::vector<std::uint64_t>{4}));
}

TEST(CountingSinkTest, RejectsZeroIntervalAndWriteAfterFinish) {
  EXPECT_THROW(CountingSink(nullptr, 0, [](std::uint64_t) {}), std::invalid_argument);
  CountingSink counting;
  counting.finish();
  EXPECT_THROW(counting.write("x"), std::logic_error);
}

}  // namespace
}  // namespace backupy::stream
