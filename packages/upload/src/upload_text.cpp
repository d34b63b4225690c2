#include "upload_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "backupy/core/ascii.hpp"

namespace backupy::upload::detail {

std::string display_url(const net::Url& url) {
  const std::string target = url.target.substr(0, url.target.find_first_of("?#"));
  return url.scheme + "://" + url.host_header() + target;
}

std::string display_url(std::string_view text) {
  std::string shown(text.substr(0, text.find_first_of("?#")));
  // A URL we could not parse may still carry user:password@ in its authority: drop it.
  const std::size_t authority = shown.find("://");
  const std::size_t from = authority == std::string::npos ? 0 : authority + 3;
  const std::size_t end = std::min(shown.find('/', from), shown.size());
  if (const std::size_t at = shown.rfind('@', end); at != std::string::npos && at >= from) {
    shown.erase(from, at + 1 - from);
  }
  return shown;
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  return ms % 1000 == 0 && ms != 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string host_port(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + " GiB";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

bool is_loopback_host(std::string_view host) {
  const std::string name = core::ascii_lower(host);
  if (name == "localhost" || name.ends_with(".localhost")) return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, name.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, name.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string s3_error_code(std::string_view body) {
  const auto open = body.find("<Code>");
  if (open == std::string_view::npos) return {};
  const auto start = open + 6;
  const auto close = body.find("</Code>", start);
  if (close == std::string_view::npos || close - start > 128) return {};
  std::string code(core::trim_blanks(body.substr(start, close - start)));
  // An error code is an identifier; anything else is not worth echoing.
  for (char c : code) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return {};
    }
  }
  return code;
}

std::string http_failure(int status, std::string_view reason, std::string_view body) {
  std::string text = "http " + std::to_string(status);
  if (std::string code = s3_error_code(body); !code.empty()) return text + " (" + code + ")";
  if (!reason.empty()) text += " " + std::string(reason);
  return text;
}

bool retryable_status(int status) {
  return status == 408 || status == 429 || status >= 500;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
  value = core::trim_blanks(value);
  unsigned long long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) return {};
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(std::min(seconds, 86400ull)));
}

std::string unquote_etag(std::string_view etag) {
  etag = core::trim_blanks(etag);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

}  // namespace backupy::upload::detail
