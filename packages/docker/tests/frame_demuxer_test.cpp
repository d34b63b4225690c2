// The exec-stream demultiplexer with handcrafted bytes: headers split across
// reads, zero-length frames, stdin-as-stdout, malformed headers, daemon errors.
#include "backupy/docker/frame_demuxer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "backupy/docker/engine_client.hpp"

namespace backupy::docker {
namespace {

std::string frame(unsigned char stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const auto size = static_cast<std::uint32_t>(payload.size());
  out[4] = static_cast<char>(size >> 24);
  out[5] = static_cast<char>(size >> 16);
  out[6] = static_cast<char>(size >> 8);
  out[7] = static_cast<char>(size);
  return out + payload;
}

struct Collector {
  std::string out, err;
  std::size_t calls = 0;
  FrameDemuxer demuxer{[this](std::span<const char> d) {
                         out.append(d.data(), d.size());
                         ++calls;
                       },
                       [this](std::span<const char> d) {
                         err.append(d.data(), d.size());
                         ++calls;
                       }};
};

std::string error_of(Collector& c, const std::string& bytes) {
  try {
    c.demuxer.feed(bytes);
    c.demuxer.finish();
  } catch (const DockerError& e) {
    return e.what();
  }
  return "no error";
}

TEST(FrameDemuxerTest, SplitsStdoutAndStderrWhateverTheReadBoundaries) {
  const std::string stream = frame(1, "hello ") + frame(2, "warning\n") + frame(0, "") +
                             frame(1, "world") + frame(2, "") + frame(1, std::string(70000, 'x'));
  // Every split point of the whole stream, including inside headers.
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{8},
                            std::size_t{9}, std::size_t{4096}, stream.size()}) {
    Collector c;
    for (std::size_t at = 0; at < stream.size(); at += piece) {
      c.demuxer.feed(std::string_view(stream).substr(at, piece));
    }
    c.demuxer.finish();
    EXPECT_EQ(c.out, "hello world" + std::string(70000, 'x')) << "piece " << piece;
    EXPECT_EQ(c.err, "warning\n") << "piece " << piece;
    EXPECT_EQ(c.demuxer.frames(), 6u);
  }
}

TEST(FrameDemuxerTest, PayloadIsHandedOnAsItArrivesNotBufferedWhole) {
  Collector c;
  const std::string big = frame(1, std::string(1 << 20, 'y'));
  c.demuxer.feed(std::string_view(big).substr(0, 8 + 100));
  EXPECT_EQ(c.out.size(), 100u);  // before the frame is complete
  c.demuxer.feed(std::string_view(big).substr(8 + 100));
  EXPECT_EQ(c.out.size(), std::size_t{1} << 20);
}

TEST(FrameDemuxerTest, ZeroLengthFramesCallNothing) {
  Collector c;
  c.demuxer.feed(frame(1, "") + frame(2, "") + frame(1, ""));
  c.demuxer.finish();
  EXPECT_EQ(c.calls, 0u);
  EXPECT_EQ(c.demuxer.frames(), 3u);
}

TEST(FrameDemuxerTest, StdinStreamCountsAsStdout) {
  Collector c;
  c.demuxer.feed(frame(0, "in"));
  EXPECT_EQ(c.out, "in");
}

TEST(FrameDemuxerTest, RejectsABadStreamByte) {
  Collector c;
  const std::string message = error_of(c, frame(1, "ok") + frame(7, "bad"));
  EXPECT_NE(message.find("malformed exec stream"), std::string::npos) << message;
  EXPECT_NE(message.find("0700000000000003"), std::string::npos) << message;
  EXPECT_EQ(c.out, "ok");
}

TEST(FrameDemuxerTest, RejectsNonZeroPadding) {
  Collector c;
  std::string bad = frame(1, "x");
  bad[2] = 1;
  EXPECT_NE(error_of(c, bad).find("malformed exec stream"), std::string::npos);
}

TEST(FrameDemuxerTest, TextWithoutFramesIsRejected) {
  // What a TTY exec (or a proxy's error page) would send.
  Collector c;
  EXPECT_NE(error_of(c, "HTTP/1.1 500 oops\r\n").find("malformed"), std::string::npos);
}

TEST(FrameDemuxerTest, DaemonSystemErrorFrameBecomesTheError) {
  Collector c;
  const std::string message = error_of(c, frame(3, "container killed\n"));
  EXPECT_NE(message.find("the daemon reported an error on the exec stream: container killed"),
            std::string::npos)
      << message;
}

TEST(FrameDemuxerTest, EndInsideAFrameIsAnError) {
  Collector inside_header;
  EXPECT_NE(error_of(inside_header, frame(1, "abc").substr(0, 5)).find("5 of 8 header bytes"),
            std::string::npos);
  Collector inside_payload;
  EXPECT_NE(error_of(inside_payload, frame(1, "abcdef").substr(0, 10)).find("4 payload bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace backupy::docker
