#pragma once
// The MongoDB test doubles in tests/support/node, for the MongoDB driver's tests. They exist
// because no MongoDB server and no MongoDB Database Tools can be installed here (Debian 12 and
// npm carry neither; mongodb-memory-server downloads binaries from the internet, which is
// blocked):
//   FakeMongod     node fake_mongod.js: the MongoDB wire protocol (OP_QUERY/OP_REPLY
//                  handshake, OP_MSG), hello/buildInfo/listDatabases/dbStats and SCRAM-SHA-256
//                  for one user, on 127.0.0.1 and optionally a unix socket.
//   FakeMongodump  a directory with a fake "mongodump" (fake_mongodump.js) to put first in a
//                  driver's child PATH; it checks argv, environment and --config file, records
//                  them, and writes an archive-shaped stream as planned. Beside it a fake
//                  "mongosh" (fake_mongosh.js) for the DOCKER_EXEC probe.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backupy/test_support/log_watcher.hpp"
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::test_support {

struct FakeMongodOptions {
  std::string version = "7.0.5";
  // Empty user: no authentication at all.
  std::string user;
  std::string password;
  // What listDatabases lists, with the dataSize dbStats reports.
  std::vector<std::pair<std::string, std::uint64_t>> databases = {{"admin", 0}};
  // Also listen on <dir>/mongodb-<port>.sock.
  bool unix_socket = false;
};

class FakeMongod {
 public:
  // Starts the fake and waits (up to 20 s) until it listens; throws with its stderr if not.
  explicit FakeMongod(FakeMongodOptions options);
  ~FakeMongod();  // SIGTERM, then SIGKILL after 2 s
  FakeMongod(const FakeMongod&) = delete;
  FakeMongod& operator=(const FakeMongod&) = delete;

  int port() const { return port_; }
  // Empty unless FakeMongodOptions::unix_socket.
  const std::filesystem::path& socket_path() const { return socket_path_; }
  // One JSON line per command received: {"conn","op","command","db","ok","authenticated"}.
  std::vector<Json> commands();

 private:
  TempDir dir_;
  std::filesystem::path socket_path_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<LogWatcher> log_;
  int port_ = 0;
};

class FakeMongodump {
 public:
  FakeMongodump();  // <temp>/bin/{mongodump,mongosh}, executable; mongodump plan "ok"
  FakeMongodump(const FakeMongodump&) = delete;
  FakeMongodump& operator=(const FakeMongodump&) = delete;

  // The directory holding "mongodump" (put it first in the child PATH).
  const std::filesystem::path& bin_dir() const { return bin_; }
  // mongodump.plan.json, e.g. {"mode":"ok","bytes":1048576,"seed":"x"} (see the script).
  void plan(const Json& plan);
  // mongodump.report.json of the last run; nullopt if it never ran.
  std::optional<Json> report() const;
  // The fake mongosh beside it (fake_mongosh.js, for the DOCKER_EXEC probe):
  // mongosh.plan.json ({"user","password","auth_db","version","databases":{name:size},
  // "unreachable"}) and its report of the last run.
  void plan_mongosh(const Json& plan);
  std::optional<Json> mongosh_report() const;

 private:
  TempDir dir_;
  std::filesystem::path bin_;
};

}  // namespace backupy::test_support
