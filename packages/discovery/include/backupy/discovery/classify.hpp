#pragma once
// Which database engine a container runs, from its image reference and labels.
//
// Rules (docs/architecture.md, "Docker discovery"):
//  - a label `backupy.type` with one of postgresql|mysql|mariadb|mongodb|redis|
//    sqlite (any case) wins; any other value is ignored and the image decides;
//  - otherwise the image's repository name decides, after dropping a digest
//    (`@sha256:…`), a tag (`:16-alpine`; a ':' before the last '/' is a
//    registry port), the registry host and any namespaces (`library/`,
//    `bitnami/`, `ghcr.io/org/`): only the last path component is compared,
//    case-insensitively and only exactly, so that `postgres-exporter`,
//    `mysqld-exporter` or `redis-sentinel` (no data of their own) are not
//    databases;
//    the one exception is a generic name under its vendor's namespace
//    (`mysql/community-server`, Oracle's registry);
//  - anything else is DB_UNSPECIFIED.
#include <map>
#include <string>
#include <string_view>

#include "backup/v1/agent.pb.h"

namespace backupy::discovery {

// The label that overrides image classification.
inline constexpr std::string_view kTypeLabel = "backupy.type";

backup::v1::DbType classify_image(std::string_view image,
                                  const std::map<std::string, std::string>& labels);

// The repository name of an image reference, lower-cased, without registry,
// namespaces, tag and digest: "registry.example.com:5000/bitnami/postgresql:16@sha256:ab"
// → "postgresql".
std::string image_repository_name(std::string_view image);

}  // namespace backupy::discovery
