#pragma once
// The PostgreSQL engine behind the Driver interface.
//
//  - probe(): libpq connects with ConnectionConfig host/port/database/username
//    and password_secret_ref (the plaintext password in v1), connect_timeout
//    10 s, sslmode "prefer". TCP: host (default "localhost") and port (default
//    5432). UNIX_SOCKET: host is the socket *directory* (default
//    /var/run/postgresql), port selects the socket file .s.PGSQL.<port>.
//    DOCKER_EXEC: see below.
//    Returns "PostgreSQL 15.8" from SHOW server_version (distribution suffix
//    such as " (Debian 15.8-0+deb12u1)" removed); size_hint() is
//    pg_database_size(current_database()), an estimate (the dump is smaller:
//    no indexes, no dead tuples).
//  - dump(): pg_dump --format=custom --compress=0 (the pipeline compresses)
//    --no-password --lock-wait-timeout=<N ms>, connection parameters as
//    separate argv elements; the password only in a private 0600 PGPASSFILE in
//    DumpContext::temp_dir. The child's environment is exactly PATH,
//    PGPASSFILE, PGCONNECT_TIMEOUT, PGSSLMODE, LC_ALL=C.UTF-8. Complete means
//    exit code 0 and output starting with the custom-format magic "PGDMP".
//    A pg_dump whose major version is older than the server's is refused
//    before dumping.
//  - DOCKER_EXEC (connection.container_id, DumpContext::docker_socket): the
//    container's own psql and pg_dump run inside it through the Docker Engine
//    API (backupy::docker), so the tools always match the server and nothing
//    needs installing beside the agent. probe(): psql -X -A -t -w
//    -v ON_ERROR_STOP=1 <connection> -c "SHOW server_version"
//    -c "SELECT pg_database_size(current_database())". dump(): pg_dump with the
//    same flags as above (no local version check). <connection> is --host H
//    and --port P only when set — empty means the tools' defaults inside the
//    container (the server's local socket) — then --username and --dbname.
//    The exec's Env is exactly PGCONNECT_TIMEOUT, PGSSLMODE, PGAPPNAME=backupy,
//    LC_ALL=C and PGPASSWORD (when there is a password): the password is
//    never in the Cmd, which `docker inspect` and `ps` in the container show.
//    No PATH: the image's own applies. Errors are classified from psql's
//    stderr like libpq's (authentication, unknown database, unreachable); a
//    missing psql/pg_dump (exit 126/127) and the daemon's refusals (no such
//    container, not running, no socket) are named precisely. Completeness is
//    the same: exit code 0 (exec inspect) and the PGDMP magic.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

struct PostgresOptions {
  // pg_dump is the newest <lib_root>/<major>/bin/pg_dump (a newer pg_dump
  // dumps every older server), else "pg_dump" looked up in child_path.
  std::filesystem::path lib_root = "/usr/lib/postgresql";
  // PATH of the child environment.
  std::string child_path = "/usr/lib/postgresql/15/bin:/usr/bin:/bin";
  // pg_dump --lock-wait-timeout: fail instead of waiting behind an exclusive
  // lock (ALTER TABLE, VACUUM FULL) for longer than this.
  std::chrono::milliseconds lock_wait_timeout{60'000};
  std::chrono::seconds connect_timeout{10};
  std::string sslmode = "prefer";
};

// The registry's factory (default options).
std::unique_ptr<Driver> make_postgres_driver(const DumpContext& context);
std::unique_ptr<Driver> make_postgres_driver_with(const DumpContext& context,
                                                  const PostgresOptions& options);

}  // namespace backupy::drivers
