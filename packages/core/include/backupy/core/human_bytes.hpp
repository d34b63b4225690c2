#pragma once
// Sizes for people (CLI tables, progress lines), never for machines.
#include <cstdint>
#include <string>

namespace backupy::core {

// "512 B", "12.0 MiB", "1.5 GiB": binary units, one decimal.
std::string human_bytes(std::uint64_t bytes);

}  // namespace backupy::core
