#pragma once
#include <string>
#include <string_view>

namespace backupy::cron::detail {

// text in double quotes with '"', '\' and control bytes escaped, so an error
// message always stays one printable line whatever the server sent.
std::string quoted(std::string_view text);

}  // namespace backupy::cron::detail
