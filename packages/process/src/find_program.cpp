#include <sys/stat.h>
#include <unistd.h>

#include <string_view>

#include "backupy/process/child.hpp"

namespace backupy::process {
namespace {

bool is_executable_file(const std::filesystem::path& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::optional<std::filesystem::path> find_program(const std::string& name,
                                                  const std::vector<std::string>& env) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return std::filesystem::path(name);
  std::string_view path;
  for (const std::string& entry : env) {
    if (entry.starts_with("PATH=")) {
      path = std::string_view(entry).substr(5);
      break;  // the first one is what getenv() in the child sees
    }
  }
  while (!path.empty()) {
    const std::size_t colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    path = colon == std::string_view::npos ? std::string_view() : path.substr(colon + 1);
    // POSIX reads an empty entry as the current directory; an agent should not
    // run whatever happens to sit in its working directory, so skip it.
    if (dir.empty()) continue;
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (is_executable_file(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace backupy::process
