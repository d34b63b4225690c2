// HTTP response heads and bodies (Content-Length, chunked, until EOF) from
// handcrafted bytes fed in every possible split.
#include "http_response.hpp"

#include <gtest/gtest.h>

#include <string>

#include "backupy/docker/engine_client.hpp"

namespace backupy::docker::detail {
namespace {

std::string body_in_pieces(const std::string& head_text, const std::string& bytes,
                           std::size_t piece, bool eof = false) {
  const ResponseHead head = parse_head(head_text);
  BodyReader reader(head, 1 << 20);
  bool done = reader.done();
  for (std::size_t at = 0; at < bytes.size() && !done; at += piece) {
    done = reader.feed(std::string_view(bytes).substr(at, piece));
  }
  if (!done && eof) reader.finish_at_eof();
  EXPECT_TRUE(done || eof);
  return reader.body();
}

TEST(HttpResponseTest, ParsesStatusReasonAndLowerCasedHeaders) {
  const ResponseHead head = parse_head(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
      "API-Version:1.43 \r\nUpgrade: tcp\r\n\r\n");
  EXPECT_EQ(head.status, 101);
  EXPECT_EQ(head.reason, "UPGRADED");
  EXPECT_EQ(head.header("api-version"), "1.43");
  EXPECT_EQ(head.header("content-type"), "application/vnd.docker.raw-stream");
  EXPECT_FALSE(head.header("content-length").has_value());
}

TEST(HttpResponseTest, RejectsWhatIsNotAResponse) {
  EXPECT_THROW(parse_head("SSH-2.0-OpenSSH\r\n\r\n"), DockerError);
  EXPECT_THROW(parse_head("HTTP/1.1 2x0 OK\r\n\r\n"), DockerError);
  EXPECT_THROW(parse_head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n"), DockerError);
}

TEST(HttpResponseTest, ContentLengthBodyInAnySplit) {
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";
  for (std::size_t piece = 1; piece <= 12; ++piece) {
    EXPECT_EQ(body_in_pieces(head, "{\"Id\":\"a\"}\nEXTRA", piece), "{\"Id\":\"a\"}\n");
  }
}

TEST(HttpResponseTest, ChunkedBodyWithExtensionsAndTrailersInAnySplit) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string bytes =
      "4\r\n{\"Ap\r\nA;ext=1\r\niVersion\":\r\n6\r\n\"1.43\"\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n";
  for (std::size_t piece = 1; piece <= bytes.size(); ++piece) {
    EXPECT_EQ(body_in_pieces(head, bytes, piece), "{\"ApiVersion\":\"1.43\"}") << piece;
  }
}

TEST(HttpResponseTest, BadChunkSizeIsAnError) {
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_THROW(body_in_pieces(head, "zz\r\nabc\r\n", 100), DockerError);
  EXPECT_THROW(body_in_pieces(head, "3\r\nabcdef\r\n", 100), DockerError);
}

TEST(HttpResponseTest, BodyUntilEofAndTruncation) {
  EXPECT_EQ(body_in_pieces("HTTP/1.0 200 OK\r\n\r\n", "all of it", 4, true), "all of it");
  EXPECT_THROW(body_in_pieces("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "short", 4, true),
               DockerError);
  EXPECT_THROW(
      body_in_pieces("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nab", 4, true),
      DockerError);
}

TEST(HttpResponseTest, NoBodyFor204AndLimitsAreEnforced) {
  EXPECT_EQ(body_in_pieces("HTTP/1.1 204 No Content\r\n\r\n", "", 1), "");
  EXPECT_THROW(BodyReader(parse_head("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"), 1000),
               DockerError);
}

}  // namespace
}  // namespace backupy::docker::detail
