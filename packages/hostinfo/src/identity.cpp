#include "backupy/hostinfo/identity.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <climits>

namespace backupy::hostinfo {

std::string normalize_arch(const std::string& machine) {
  if (machine == "x86_64" || machine == "amd64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine.starts_with("armv7") || machine == "armhf") return "arm";
  if (machine == "i386" || machine == "i686") return "386";
  return machine;
}

HostIdentity read_host_identity() {
  HostIdentity identity;
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) == 0) identity.hostname = name;
  struct utsname uts {};
  if (::uname(&uts) == 0) {
    identity.arch = normalize_arch(uts.machine);
    identity.kernel = uts.release;
  }
  identity.os = "linux";
  return identity;
}

}  // namespace backupy::hostinfo
