#pragma once
// The MongoDB engine behind the Driver interface.
//
//  - Target: ConnectionConfig host/port/database/username and
//    password_secret_ref (the plaintext password in v1).
//    TCP: host (default "localhost") and port (default 27017).
//    UNIX_SOCKET: host is the socket *file* path, which must end in ".sock"
//    (default /tmp/mongodb-27017.sock); port is ignored.
//    Connection string: a host starting with "mongodb://" or
//    "mongodb+srv://" is used as is (replica sets, SRV, TLS and every other
//    option); port is then ignored. Because a URI may carry credentials, it
//    goes only into the private --config file, never into argv, and messages
//    show only its scheme and hosts.
//    Authentication: username (when set) with --authenticationDatabase
//    MongodbOptions::auth_database ("admin": where MongoDB keeps users by
//    default); with a URI, its authSource (or its database, or "admin")
//    decides instead. database empty = the whole instance is dumped.
//    DOCKER_EXEC: the image's own tools run inside connection.container_id
//    through the Docker Engine API (DumpContext::docker_socket); host/port
//    empty = the tools' defaults inside the container (127.0.0.1:27017), a
//    URI works as above. See "DOCKER_EXEC" below.
//  - probe(): libmongoc (the official C driver) connects with connectTimeoutMS
//    and serverSelectionTimeoutMS = connect_timeout (10 s) unless the URI says
//    otherwise, authenticating with the password when one is set (SCRAM, the
//    mechanism negotiated with the server). Returns "MongoDB 7.0.5" from
//    buildInfo on admin. MongoDB creates databases on first write, so a
//    missing database is not a connection error: probe() checks that
//    listDatabases (nameOnly) lists it, else DriverError "database X does not
//    exist on the MongoDB server at ...". size_hint() is dbStats.dataSize
//    (uncompressed BSON, close to the archive size); none for a whole-instance
//    dump.
//  - dump(): mongodump (looked up in MongodbOptions::child_path) as
//      mongodump --config=<temp_dir>/backupy-mongodump.yaml --archive
//        [--host=H --port=P | --host=<percent-encoded socket path>]
//        [--username=U --authenticationDatabase=admin] [--db=D]
//    --archive without a file writes one archive to stdout, streamed into the
//    pipeline; no --gzip (the pipeline compresses). The defaults of the tool
//    are kept on purpose: read preference primary (a backup should hold every
//    acknowledged write; a URI can ask for readPreference=secondary to offload
//    a replica set), --numParallelCollections 4, no --oplog (only valid for
//    whole-instance dumps of replica sets). The password ("password:") and the
//    URI ("uri:") are only in the 0600 YAML --config file (single-quoted
//    scalars; a line break in either is refused), which is removed after the
//    dump. The child's environment is exactly PATH and LC_ALL=C.UTF-8.
//    Complete means exit code 0, output not empty, and output starting with
//    the archive magic number 0x8199e26d (little-endian: 6d e2 99 81).
//    The tool's stderr is kept as a bounded tail (4 KiB) for the error, with
//    the password masked.
//  - DOCKER_EXEC: probe() runs `mongosh --quiet --norc --nodb --eval <program>`
//    in the container (libmongoc cannot reach a server that only listens
//    inside it); the program reads the URI, user, password, authentication
//    database and database from the exec's Env (PROBE_*), authenticates,
//    and prints "backupy-probe <version> <exists> <dataSize>": the same
//    version string, missing-database check and size hint as above. dump()
//    runs `sh -c <script> mongodump <the same flags>`, where the script
//    writes the --config content from the exec's Env (MONGODUMP_CONFIG_YAML)
//    to a umask-077 mktemp file, unsets the variable, runs mongodump
//    --config=<file> and removes the file when it exits. Secrets are only in
//    the exec's Env, never in its Cmd. A missing mongosh/mongodump in the
//    image (exit 127) is a precise DriverError.
#include <chrono>
#include <memory>
#include <string>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

struct MongodbOptions {
  // PATH of the child environment, where mongodump is looked up.
  std::string child_path = "/usr/bin:/bin:/usr/local/bin";
  std::chrono::seconds connect_timeout{10};
  // --authenticationDatabase for host/port targets with a username.
  std::string auth_database = "admin";
};

// The registry's factory (default options).
std::unique_ptr<Driver> make_mongodb_driver(const DumpContext& context);
std::unique_ptr<Driver> make_mongodb_driver_with(const DumpContext& context,
                                                 const MongodbOptions& options);

}  // namespace backupy::drivers
