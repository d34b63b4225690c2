#pragma once
// One discovery pass over the Docker Engine API: list the running containers,
// inspect each and report the ones that run a database. Blocking: call it
// from a worker thread, never from an io_context thread.
#include "backup/v1/agent.pb.h"
#include "backupy/docker/engine_client.hpp"

namespace backupy::discovery {

// Containers whose detected_db_type is DB_UNSPECIFIED are left out: the
// report answers "which databases run here", and listing every sidecar and
// web server would only be noise (and more names on the wire). A container
// that disappears between the list and its inspect (404) is skipped.
// Throws docker::DockerError (daemon unreachable, bad answers) or
// DiscoveryError (an inspect answer without Id/Config.Image).
backup::v1::DiscoveryReport discover(docker::EngineClient& client);

}  // namespace backupy::discovery
