#pragma once
// The engines' names as operators write them: the control plane's YAML `type:` and a
// container's `backupy.type` label share this one vocabulary.
#include <array>
#include <string_view>
#include <utility>

#include "backup/v1/agent.pb.h"

namespace backupy::wire {

inline constexpr std::array<std::pair<std::string_view, backup::v1::DbType>, 6> kDbTypeNames{{
    {"postgresql", backup::v1::POSTGRESQL},
    {"mysql", backup::v1::MYSQL},
    {"mariadb", backup::v1::MARIADB},
    {"mongodb", backup::v1::MONGODB},
    {"redis", backup::v1::REDIS},
    {"sqlite", backup::v1::SQLITE},
}};

}  // namespace backupy::wire
