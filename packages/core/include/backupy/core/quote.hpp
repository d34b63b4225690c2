#pragma once
// Echoing untrusted text (a cron field, an id from the server) inside an error
// message: quotes, backslashes and control bytes are escaped so the message
// always stays one printable line, whatever the peer sent.
#include <string>
#include <string_view>

namespace backupy::core {

// text with '"' and '\' backslash-escaped and control bytes as \xNN.
std::string escape_for_message(std::string_view text);
// The same, in double quotes.
std::string quoted(std::string_view text);

}  // namespace backupy::core
