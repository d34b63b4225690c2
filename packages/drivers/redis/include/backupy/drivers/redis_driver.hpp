#pragma once
// The Redis engine behind the Driver interface, natively over hiredis (no
// redis-cli, no shared filesystem).
//
//  - Connection: TCP host (default "localhost") and port (default 6379), or
//    UNIX_SOCKET with host = the socket *path*; connect timeout 10 s.
//    DOCKER_EXEC is not implemented by this driver (DriverError). AUTH
//    <username> <password> when connection.username is set (ACL user), else
//    AUTH <password> when password_secret_ref is set, else no AUTH.
//  - probe(): INFO server -> "Redis 7.0.15" (redis_version); size_hint() is
//    INFO memory used_memory, an estimate (the RDB is usually smaller).
//  - dump(): a fresh connection: AUTH, REPLCONF rdb-only 1 (Redis >= 7; an
//    error reply is ignored), optionally REPLCONF capa eof (diskless), then
//    SYNC (not PSYNC: no +FULLRESYNC line, no replication id needed). The RDB
//    is then read with our own poll/recv loop on hiredis's socket (fixed
//    64 KiB buffer; the stop token is checked every 100 ms), both the
//    "$<len>" and the diskless "$EOF:<mark>" payload forms, keep-alive
//    newlines skipped. Without capa eof the server writes a temporary RDB in
//    its own dir (like BGSAVE) and sends "$<len>"; with it the server streams
//    straight from the fork but waits repl-diskless-sync-delay (default 5 s)
//    first. The ACL user needs the SYNC and REPLCONF commands (+@admin or
//    +sync +replconf).
//    Complete means: "REDIS" + 4-digit version at the start, the EOF opcode
//    0xFF followed by the little-endian CRC64 (Redis's crc64 Jones) of all
//    preceding bytes at the end. A zero checksum means the server runs with
//    rdbchecksum no and is accepted (magic and EOF opcode still checked).
#include <chrono>
#include <memory>
#include <string>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

struct RedisOptions {
  std::chrono::seconds connect_timeout{10};
  // Fail when the server sends nothing (not even a keep-alive) for this long.
  std::chrono::seconds idle_timeout{120};
  // Ask for the diskless ($EOF:) form with REPLCONF capa eof.
  bool diskless = false;
};

// The registry's factory (default options).
std::unique_ptr<Driver> make_redis_driver(const DumpContext& context);
std::unique_ptr<Driver> make_redis_driver_with(const DumpContext& context,
                                               const RedisOptions& options);

}  // namespace backupy::drivers
