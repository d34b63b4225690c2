#include "secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backupy/core/files.hpp"
#include "failure.hpp"

namespace backupy::decrypt {

void read_secret_file(const std::string& path, const char* what, std::size_t max_bytes,
                      SecretText& out) {
  const std::string name = std::string(what) + " " + path;
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Failure("cannot open " + name + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw Failure(name + " is a directory");
  }
  out.text.assign(max_bytes + 1, '\0');
  std::size_t have = 0;
  while (have < out.text.size()) {
    const ssize_t n = ::read(fd.get(), out.text.data() + have, out.text.size() - have);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Failure("cannot read " + name + ": " + std::strerror(errno));
    }
    have += static_cast<std::size_t>(n);
  }
  if (have > max_bytes) {
    throw Failure(name + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  out.text.resize(have);  // shrinking keeps the buffer, which the destructor wipes
}

}  // namespace backupy::decrypt
