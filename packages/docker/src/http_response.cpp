#include "http_response.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "backupy/core/ascii.hpp"
#include "backupy/docker/engine_client.hpp"

namespace backupy::docker::detail {
namespace {

using core::ascii_lower;

// A header value or chunk line without blanks around it and without the CR
// of its CRLF.
std::string_view trim(std::string_view text) {
  if (text.ends_with('\r')) text.remove_suffix(1);
  return core::trim_blanks(text);
}

}  // namespace

std::optional<std::string> ResponseHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

ResponseHead parse_head(std::string_view text) {
  ResponseHead head;
  std::size_t eol = text.find("\r\n");
  const std::string_view status_line = text.substr(0, eol);
  // "HTTP/1.1 200 OK": version, space, three digits, optional reason.
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
      std::from_chars(status_line.data() + 9, status_line.data() + 12, head.status).ptr !=
          status_line.data() + 12) {
    throw DockerError("not an HTTP response: " + std::string(status_line.substr(0, 80)));
  }
  head.reason = std::string(trim(status_line.substr(12)));
  while (eol != std::string_view::npos) {
    const std::size_t start = eol + 2;
    eol = text.find("\r\n", start);
    const std::string_view line = text.substr(start, eol - start);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw DockerError("malformed HTTP header line: " + std::string(line.substr(0, 80)));
    }
    head.headers.emplace_back(ascii_lower(line.substr(0, colon)),
                              std::string(trim(line.substr(colon + 1))));
  }
  return head;
}

BodyReader::BodyReader(const ResponseHead& head, std::size_t max_bytes) : max_bytes_(max_bytes) {
  if ((head.status >= 100 && head.status < 200) || head.status == 204 || head.status == 304) {
    mode_ = Mode::none;
    done_ = true;
  } else if (auto coding = head.header("transfer-encoding");
             coding && ascii_lower(*coding).find("chunked") != std::string::npos) {
    mode_ = Mode::chunked;
  } else if (auto length = head.header("content-length")) {
    const char* end = length->data() + length->size();
    if (std::from_chars(length->data(), end, remaining_).ptr != end) {
      throw DockerError("bad Content-Length: " + *length);
    }
    if (remaining_ > max_bytes_) {
      throw DockerError("response body of " + *length + " bytes is larger than the limit of " +
                        std::to_string(max_bytes_));
    }
    mode_ = Mode::length;
    done_ = remaining_ == 0;
  }
}

void BodyReader::append(std::string_view data) {
  if (body_.size() + data.size() > max_bytes_) {
    throw DockerError("response body is larger than the limit of " + std::to_string(max_bytes_) +
                      " bytes");
  }
  body_.append(data);
}

bool BodyReader::feed(std::string_view data) {
  if (done_) return true;
  switch (mode_) {
    case Mode::none: return true;
    case Mode::until_eof: append(data); return false;
    case Mode::length: {
      const std::size_t take = std::min(data.size(), remaining_);
      append(data.substr(0, take));
      remaining_ -= take;
      done_ = remaining_ == 0;
      return done_;
    }
    case Mode::chunked: return feed_chunked(data);
  }
  return done_;
}

// chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 §7.1).
bool BodyReader::feed_chunked(std::string_view data) {
  while (!data.empty() && !done_) {
    switch (chunk_state_) {
      case ChunkState::size_line:
      case ChunkState::trailers: {
        const std::size_t lf = data.find('\n');
        line_.append(data.substr(0, lf));
        if (line_.size() > 4096) throw DockerError("chunked body: line too long");
        if (lf == std::string_view::npos) return false;
        data.remove_prefix(lf + 1);
        std::string_view line = trim(line_);
        if (chunk_state_ == ChunkState::trailers) {
          done_ = line.empty();  // trailer fields are ignored until the blank line
        } else {
          line = line.substr(0, line.find(';'));  // chunk extensions are ignored
          const auto parsed =
              std::from_chars(line.data(), line.data() + line.size(), remaining_, 16);
          if (line.empty() || parsed.ptr != line.data() + line.size()) {
            throw DockerError("chunked body: bad chunk size line");
          }
          chunk_state_ = remaining_ == 0 ? ChunkState::trailers : ChunkState::data;
        }
        line_.clear();
        break;
      }
      case ChunkState::data: {
        const std::size_t take = std::min(data.size(), remaining_);
        append(data.substr(0, take));
        data.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) chunk_state_ = ChunkState::data_crlf;
        break;
      }
      case ChunkState::data_crlf: {
        // The CRLF after a chunk's data: collected like a (necessarily empty) line.
        const std::size_t lf = data.find('\n');
        line_.append(data.substr(0, lf));
        if (lf == std::string_view::npos) {
          if (line_.size() > 1) throw DockerError("chunked body: chunk data not followed by CRLF");
          return false;
        }
        data.remove_prefix(lf + 1);
        if (!trim(line_).empty())
          throw DockerError("chunked body: chunk data not followed by CRLF");
        line_.clear();
        chunk_state_ = ChunkState::size_line;
        break;
      }
    }
  }
  return done_;
}

void BodyReader::finish_at_eof() const {
  if (done_ || mode_ == Mode::until_eof) return;
  throw DockerError(mode_ == Mode::length ? "connection closed with " + std::to_string(remaining_) +
                                                " body bytes missing"
                                          : std::string("connection closed inside a chunked body"));
}

}  // namespace backupy::docker::detail
