#pragma once
// A last check before switching: the new binary must start on this machine and call itself the
// version it was sent as. A binary for another architecture, or a mislabelled release, fails
// here — while the running agent is still in charge — rather than after the exec.
#include <chrono>
#include <filesystem>
#include <string_view>

#include "backupy/selfupdate/verify.hpp"

namespace backupy::selfupdate {

// Runs `binary version --json` with an empty environment (nothing secret reaches it) and the
// given budget; ok when it exits 0 and its "version" equals expected.
Verdict probe_version(const std::filesystem::path& binary, std::string_view expected,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace backupy::selfupdate
