#pragma once
// TEMPORARY copy of helper C's header (replaced at merge).
#include <optional>
#include <string_view>
namespace backupy::selfupdate {
std::optional<int> compare_versions(std::string_view a, std::string_view b);
}
