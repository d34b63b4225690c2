#pragma once
#include <string>

namespace backupy::hostinfo {

// What the agent tells the control plane about the machine in Register.
struct HostIdentity {
  std::string hostname;  // gethostname()
  std::string os;        // "linux"
  std::string arch;      // Go-style names the fleet already uses: "amd64", "arm64", ...
  std::string kernel;    // uname -r, informational
};

HostIdentity read_host_identity();

// uname machine -> contract arch name ("x86_64" -> "amd64", "aarch64" -> "arm64").
std::string normalize_arch(const std::string& machine);

}  // namespace backupy::hostinfo
