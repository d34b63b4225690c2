#pragma once
// Release version order, to refuse an update that is not newer than the running agent (unless
// forced) and to let an upgraded image win over an older installed update.
#include <optional>
#include <string_view>

namespace backupy::selfupdate {

// Compares release versions "X.Y.Z" with an optional "-prerelease" (semver 2.0 precedence: a
// prerelease sorts before its release; dot-separated identifiers, numeric ones compared as
// numbers and before alphanumeric ones, so "rc.2" < "rc.10"). A leading "v" is accepted and
// "+build" metadata is ignored. nullopt when either is unparsable (missing parts, leading zeros,
// empty identifiers, other characters).
std::optional<int> compare_versions(std::string_view a, std::string_view b);  // <0, 0, >0

}  // namespace backupy::selfupdate
