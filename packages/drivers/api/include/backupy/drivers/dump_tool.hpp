#pragma once
// What every engine that shells out to a dump tool (pg_dump, mariadb-dump,
// mongodump) does the same way: stream the tool's stdout into the pipeline
// (backpressure through the pump), keep a bounded stderr tail for the error,
// turn a stop into stream::Cancelled and a failed exit into a DriverError.
#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <string>

#include "backupy/process/child.hpp"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::drivers {

struct DumpToolRun {
  std::uint64_t bytes = 0;  // stdout bytes handed to the sink
  std::string stderr_tail;  // one line, secret masked; empty if the tool said nothing
  // ": <tail>" or "", for appending to a message.
  std::string tail_suffix() const { return stderr_tail.empty() ? "" : ": " + stderr_tail; }
};

// Starts a dump tool; a failure to start it (ENOENT, EACCES, ...) becomes the DriverError
// "<what>: cannot run <argv[0]>: <reason>" (what = "target x (...)").
process::Child spawn_dump_tool(const process::SpawnOptions& spawn, const std::string& what);

// Pumps child to its end. `what` names the tool for errors ("target x (...): pg_dump"
// → "target x (...): pg_dump failed (exit code 1): <stderr tail>"). inspect (optional)
// sees every stdout chunk before the sink does (magic numbers, trailers).
DumpToolRun run_dump_tool(process::Child& child, stream::ByteSink& out, std::stop_token stop,
                          const std::string& what, const std::string& secret,
                          const std::function<void(std::span<const char>)>& inspect = {});

// text on one line (newlines and tabs become spaces, trailing blanks dropped), with every
// occurrence of secret (3+ characters) masked as "***": server messages and tool output
// are never trusted not to echo a password.
std::string one_line_masked(std::string text, const std::string& secret);

}  // namespace backupy::drivers
