#pragma once
// Incremental HTTP/1.1 response parsing for the Engine API client: the status
// line and headers, then a body framed by Content-Length, chunked transfer
// coding, or the end of the connection. Pure (no I/O), so it is tested with
// handcrafted bytes; the socket side lives in unix_connection.hpp.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backupy::docker::detail {

struct ResponseHead {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  // The value of the first header called name (lower-case), if any.
  std::optional<std::string> header(std::string_view name) const;
};

// Parses "HTTP/1.x NNN reason\r\n(Name: value\r\n)*\r\n" (the terminating blank
// line included). Throws DockerError if it is not an HTTP response head.
ResponseHead parse_head(std::string_view text);

// Collects a body from the bytes that follow the head.
class BodyReader {
 public:
  // From the head: chunked, Content-Length, or until EOF (no body for 1xx/204/304).
  BodyReader(const ResponseHead& head, std::size_t max_bytes);
  // Consumes bytes; returns true once the body is complete (later bytes ignored).
  bool feed(std::string_view data);
  // At EOF: throws DockerError unless the body is complete or EOF-delimited.
  void finish_at_eof() const;
  bool done() const { return done_; }
  const std::string& body() const { return body_; }
  // The body collected so far, handed over and forgotten: a streaming
  // consumer (the event stream) takes it after every feed, so max_bytes then
  // bounds what one read may leave unconsumed, not the whole stream.
  std::string take_body() { return std::exchange(body_, {}); }

 private:
  enum class Mode { none, length, chunked, until_eof };
  enum class ChunkState { size_line, data, data_crlf, trailers };
  void append(std::string_view data);
  bool feed_chunked(std::string_view data);

  Mode mode_ = Mode::until_eof;
  std::size_t max_bytes_;
  std::size_t remaining_ = 0;  // length mode / current chunk
  ChunkState chunk_state_ = ChunkState::size_line;
  std::string line_;  // chunk size line or trailer line being collected
  std::string body_;
  bool done_ = false;
};

}  // namespace backupy::docker::detail
