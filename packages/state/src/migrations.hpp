#pragma once
// The schema, as an ordered list of forward migrations. Migration i moves the
// database from PRAGMA user_version i to i + 1. Never edit a released entry:
// append a new one.
#include <span>
#include <string_view>

namespace backupy::state::detail {

std::span<const std::string_view> migrations();

// The user_version a fully migrated database has.
inline int schema_version() {
  return static_cast<int>(migrations().size());
}

}  // namespace backupy::state::detail
