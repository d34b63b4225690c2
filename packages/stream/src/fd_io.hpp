#pragma once
// Internal: the raw write loop behind FileSink, separate so tests can drive it
// into ENOSPC with /dev/full (a real full disk cannot be arranged in a test).
#include <cstdint>
#include <filesystem>
#include <span>

namespace backupy::stream::detail {

// Writes all of data to fd, retrying short writes and EINTR. Throws
// NoSpaceError on ENOSPC, otherwise std::system_error("cannot write <path>").
void write_all(int fd, std::span<const std::uint8_t> data, const std::filesystem::path& path);

// Throws NoSpaceError for ENOSPC, otherwise std::system_error("<what> <path>").
[[noreturn]] void throw_file_error(int error, const char* what, const std::filesystem::path& path);

}  // namespace backupy::stream::detail
