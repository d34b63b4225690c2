#pragma once
// RFC 3986 percent-encoding, one implementation for URL paths, queries,
// SigV4 canonical requests, proxy userinfo and MongoDB socket hosts.
#include <optional>
#include <string>
#include <string_view>

namespace backupy::core {

// Every byte but the unreserved set (A-Z a-z 0-9 - . _ ~) — and '/' when
// keep_slash — as %XX with upper-case hex (what SigV4 requires).
std::string percent_encode(std::string_view text, bool keep_slash = false);

// %XX (either case) decoded; nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace backupy::core
