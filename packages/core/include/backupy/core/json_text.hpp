#pragma once
#include <string>
#include <string_view>

namespace backupy::core {

// Appends text as a JSON string literal (with quotes) to out. Invalid UTF-8
// bytes are escaped as \u00XX so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

}  // namespace backupy::core
