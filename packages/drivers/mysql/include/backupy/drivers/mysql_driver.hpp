#pragma once
// The MySQL/MariaDB engine behind the Driver interface (types MYSQL, MARIADB).
//
//  - probe(): the MariaDB client library (libmariadb) connects with
//    ConnectionConfig host/port/database/username and password_secret_ref (the
//    plaintext password in v1), connect timeout 10 s, reading no option files.
//    TCP: host (default "127.0.0.1") and port (default 3306), protocol forced
//    to TCP (so "localhost" never silently means the socket). UNIX_SOCKET:
//    host is the socket *file* path (default /run/mysqld/mysqld.sock), port
//    is ignored. DOCKER_EXEC: see below. Returns "MariaDB 10.11.6" / "MySQL 8.0.36" from
//    SELECT VERSION() and @@version_comment (distribution suffixes such as
//    "-MariaDB-0+deb12u1" removed). size_hint() is SUM(data_length) of
//    information_schema.tables for the database: an estimate (the SQL dump of
//    binary data is larger, hex; indexes are not counted).
//  - dump(): mariadb-dump (preferred for MariaDB servers) or mysqldump
//    (preferred for MySQL servers), whichever exists in child_path, as
//      <tool> --defaults-extra-file=<temp_dir>/backupy-my.cnf  (always first)
//        --single-transaction --skip-lock-tables --quick --routines --triggers
//        --events --hex-blob --no-tablespaces --default-character-set=utf8mb4
//        --protocol=TCP --host=H --port=P | --protocol=SOCKET --socket=S
//        <database>
//    Why: --single-transaction gives a consistent InnoDB snapshot without
//    locks, so --skip-lock-tables (LOCK TABLES would end that transaction's
//    usefulness and block writers; non-transactional MyISAM tables are *not*
//    consistent in such a dump); --quick streams rows instead
//    of buffering tables; --hex-blob keeps binary data intact whatever the
//    client charset; --no-tablespaces avoids needing the PROCESS privilege
//    (MySQL >= 8.0.21). One database, *without* --databases: the dump has no
//    CREATE DATABASE/USE, so it restores into any database name
//    (`mariadb newname < dump.sql`).
//    The user and password only in the 0600 option file (removed after the
//    dump); the child's environment is exactly PATH and LC_ALL=C.UTF-8 (no
//    MYSQL_PWD, no HOME). Complete means exit code 0 and the output's last line
//    is the "-- Dump completed" trailer (a leading MariaDB sandbox-mode comment
//    "/*M!999999\- enable the sandbox mode */" is fine).
//  - DOCKER_EXEC (connection.container_id, DumpContext::docker_socket): the
//    image's own client runs inside the container through the Docker Engine
//    API (backupy::docker). probe(): `mariadb` (for MYSQL targets `mysql`
//    first), falling back to the other name when the image lacks it (exit
//    126/127), -N -B --default-character-set=utf8mb4 <connection>
//    --database=<db> -e "SELECT VERSION(), @@version_comment, <size>".
//    dump(): mariadb-dump or mysqldump (by the server probed, the other as the
//    fallback) with the same flags as above, <connection>, <database>.
//    <connection> is --user=U, plus --protocol=TCP --host=H [--port=P] only
//    when host is set: an empty host means the client's default inside the
//    container (the socket the image configures). The container's own option
//    files apply (no --defaults-extra-file). The exec's Env is exactly
//    LC_ALL=C and MYSQL_PWD (when there is a password): never in the Cmd. No
//    PATH: the image's own applies. A client "ERROR <code>" is classified
//    like a libmariadb error (access denied, unknown database, unreachable).
//    Completeness: exit code 0 (exec inspect) and the trailer, as above.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

struct MysqlOptions {
  // PATH of the child environment, where the dump tool is looked up.
  std::string child_path = "/usr/bin:/bin:/usr/local/bin";
  std::chrono::seconds connect_timeout{10};
};

// The registry's factory (default options), for MYSQL and MARIADB targets.
std::unique_ptr<Driver> make_mysql_driver(const DumpContext& context);
std::unique_ptr<Driver> make_mysql_driver_with(const DumpContext& context,
                                               const MysqlOptions& options);

}  // namespace backupy::drivers
