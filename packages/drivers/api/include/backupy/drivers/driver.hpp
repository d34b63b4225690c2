#pragma once
// The seam between a backup run and a database engine.
//
// A run asks the DriverRegistry for a Driver for its target, calls probe()
// (connect, validate, learn the *server's* version) and then dump(), which
// streams the engine's native artifact into the pipeline and verifies that it
// is complete before returning. A driver never finishes the sink: returning
// from dump() means "the artifact is complete"; throwing means it is not.
//
// A new engine is one folder under packages/drivers/ implementing Driver plus
// one registration line in packages/drivers/builtin (docs/architecture.md).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>

#include "backup/v1/agent.pb.h"
#include "backupy/stream/byte_sink.hpp"

namespace backupy::drivers {

// A failure the operator can act on; what() is one precise line naming the
// target, never containing a password.
class DriverError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a driver gets for one run.
struct DumpContext {
  backup::v1::Target target;       // from the config snapshot, password included
  std::filesystem::path temp_dir;  // private (0700) scratch directory, removed after the run
  // BACKUPY_DOCKER_SOCKET: where DOCKER_EXEC targets' dump tools are run from.
  std::filesystem::path docker_socket = "/var/run/docker.sock";
};

class Driver {
 public:
  virtual ~Driver() = default;
  // Connects and validates; returns the server's version as users know it
  // ("PostgreSQL 15.8", "SQLite 3.40.1"). Throws DriverError.
  virtual std::string probe() = 0;
  // The expected artifact size if the engine can tell cheaply (for progress);
  // meaningful after probe().
  virtual std::optional<std::uint64_t> size_hint() const { return std::nullopt; }
  // Streams the artifact into out without finishing it, verifying
  // completeness. Throws DriverError, stream::Cancelled once stop is
  // requested, or whatever the sink throws (budget, ENOSPC) unchanged.
  virtual void dump(stream::ByteSink& out, std::stop_token stop) = 0;
};

// "postgresql", "mysql", "mariadb", "mongodb", "redis", "sqlite", or "unspecified".
std::string db_type_name(backup::v1::DbType type);

}  // namespace backupy::drivers
