#pragma once
// The catalog's schema as forward migrations (private to the package). Never edit a released
// entry: append a new one.
#include <span>
#include <string_view>

namespace backupy::controlplane::detail {

std::span<const std::string_view> catalog_migrations();

}  // namespace backupy::controlplane::detail
