// What we write must restore with stock tools (a restore must never depend on
// this agent), and what stock tools write must decode here.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include "backupy/compress/codec.hpp"
#include "backupy/core/files.hpp"
#include "backupy/stream/file_sink.hpp"
#include "test_support.hpp"

namespace backupy::compress {
namespace {

struct CliCase {
  Codec codec;
  CompressOptions options;
  const char* decompress_command;  // reads the file named after it, writes stdout
  const char* compress_command;
  const char* label;
};

// Readable ctest names (gtest would otherwise hex-dump the struct).
void PrintTo(const CliCase& c, std::ostream* out) {
  *out << c.label;
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class CliInteropTest : public ::testing::TestWithParam<CliCase> {
 protected:
  testing::TempDir dir_;
};

TEST_P(CliInteropTest, OurOutputDecodesWithTheStockTool) {
  const std::string data = testing::dump_like_text(5 * 1024 * 1024) + testing::random_bytes(300000);
  const auto compressed_path = dir_.path() / "backup.bin";
  const auto restored_path = dir_.path() / "restored";
  {
    stream::FileSink file(compressed_path);
    auto compressor = make_compressor(GetParam().codec, GetParam().options, file);
    testing::write_in_pieces(*compressor, data, {4093, 65537, 11});
    compressor->finish();
    file.keep();
  }
  ASSERT_EQ(run(std::string(GetParam().decompress_command) + " '" + compressed_path.string() +
                "' > '" + restored_path.string() + "'"),
            0);
  const auto restored = core::read_file(restored_path);
  ASSERT_TRUE(restored.has_value());
  EXPECT_TRUE(*restored == data) << "restored " << restored->size() << " of " << data.size();
}

TEST_P(CliInteropTest, StockToolOutputDecodesHere) {
  const std::string data = testing::dump_like_text(3 * 1024 * 1024, 11);
  const auto input_path = dir_.path() / "input";
  const auto compressed_path = dir_.path() / "input.compressed";
  core::write_file_atomically(input_path, data);
  ASSERT_EQ(run(std::string(GetParam().compress_command) + " '" + input_path.string() + "' > '" +
                compressed_path.string() + "'"),
            0);
  const auto compressed = core::read_file(compressed_path);
  ASSERT_TRUE(compressed.has_value());
  EXPECT_TRUE(testing::decompress_all(GetParam().codec, *compressed) == data);
}

INSTANTIATE_TEST_SUITE_P(
    StockTools, CliInteropTest,
    ::testing::Values(CliCase{Codec::zstd, {}, "zstd -q -dc", "zstd -q -c", "zstd"},
                      CliCase{Codec::zstd,
                              {.level = 7, .workers = 2},
                              "zstd -q -dc",
                              "zstd -q -T2 -c",
                              "zstd_workers"},
                      CliCase{Codec::gzip, {}, "gzip -dc", "gzip -c", "gzip"},
                      CliCase{Codec::gzip, {.level = 1}, "gzip -dc", "gzip -9 -c", "gzip_level"}),
    [](const auto& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace backupy::compress
