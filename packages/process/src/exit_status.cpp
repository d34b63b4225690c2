#include <string.h>

#include "backupy/process/child.hpp"

namespace backupy::process {

std::string ExitStatus::describe() const {
  if (signal != 0) {
    std::string text = "killed by signal " + std::to_string(signal);
    if (const char* abbrev = ::sigabbrev_np(signal)) text += std::string(" (SIG") + abbrev + ")";
    return text;
  }
  if (code >= 0) return "exit code " + std::to_string(code);
  return "no exit status";
}

}  // namespace backupy::process
