#pragma once
// ASCII-only text helpers for protocol tokens (host names, HTTP header
// values, S3 codes): locale-independent by design.
#include <string>
#include <string_view>

namespace backupy::core {

std::string ascii_lower(std::string_view text);
// Without leading and trailing spaces and tabs.
std::string_view trim_blanks(std::string_view text);

}  // namespace backupy::core
