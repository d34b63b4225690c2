#pragma once
// The DOCKER_EXEC strategy's half of dump_tool.hpp: run a dump tool inside the
// target's container through the Docker Engine API and treat its output the
// same way run_dump_tool treats a local child's.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "backupy/drivers/driver.hpp"
#include "backupy/drivers/dump_tool.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::drivers {

// A tool invocation inside a container: argv never carries a secret, env
// ("NAME=value") may (PGPASSWORD, MYSQL_PWD, ...).
struct ContainerCommand {
  std::string container_id;
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

// A tool that ran in the container and exited non-zero. The exit code and the
// (masked) stderr tail are kept apart from the message so that a driver can
// fall back to another tool name (127: not in the image's PATH) or classify a
// client's error text (authentication, unknown database) as it does locally.
class ContainerToolFailed : public DriverError {
 public:
  ContainerToolFailed(const std::string& message, int exit_code, std::string stderr_tail)
      : DriverError(message), exit_code_(exit_code), stderr_tail_(std::move(stderr_tail)) {}
  int exit_code() const { return exit_code_; }
  const std::string& stderr_tail() const { return stderr_tail_; }
  // 126/127: the runtime could not start the program (missing or not executable).
  bool not_found() const { return exit_code_ == 127 || exit_code_ == 126; }

 private:
  int exit_code_;
  std::string stderr_tail_;
};

// Same contract as run_dump_tool: stdout (demultiplexed) into out after inspect,
// a bounded, secret-masked stderr tail, stream::Cancelled once stop is
// requested, ContainerToolFailed "<what> failed (exit code N): <tail>" for a
// non-zero exit, DriverError "<what>: Docker Engine API at <socket>: <reason>" when the
// daemon cannot be reached or refuses (no such container, ...).
DumpToolRun run_in_container(const std::filesystem::path& docker_socket,
                             const ContainerCommand& command, stream::ByteSink& out,
                             std::stop_token stop, const std::string& what,
                             const std::string& secret,
                             const std::function<void(std::span<const char>)>& inspect = {});

// Runs a short command (a version query) to completion and returns its stdout
// (at most max_bytes; more is dropped); throws like run_in_container.
std::string capture_in_container(const std::filesystem::path& docker_socket,
                                 const ContainerCommand& command, std::stop_token stop,
                                 const std::string& what, const std::string& secret,
                                 std::size_t max_bytes = 64 * 1024);

}  // namespace backupy::drivers
