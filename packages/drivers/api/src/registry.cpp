#include "backupy/drivers/registry.hpp"

#include <utility>

namespace backupy::drivers {

std::string db_type_name(backup::v1::DbType type) {
  switch (type) {
    case backup::v1::POSTGRESQL: return "postgresql";
    case backup::v1::MYSQL: return "mysql";
    case backup::v1::MARIADB: return "mariadb";
    case backup::v1::MONGODB: return "mongodb";
    case backup::v1::REDIS: return "redis";
    case backup::v1::SQLITE: return "sqlite";
    default: return "unspecified";
  }
}

void DriverRegistry::add(backup::v1::DbType type, DriverFactory factory) {
  factories_[type] = std::move(factory);
}

bool DriverRegistry::supports(backup::v1::DbType type) const {
  return factories_.contains(type);
}

std::unique_ptr<Driver> DriverRegistry::create(const DumpContext& context) const {
  const auto it = factories_.find(context.target.type());
  if (it == factories_.end()) {
    throw DriverError("no driver for " + db_type_name(context.target.type()) +
                      " in this agent build (target " + context.target.id() + ")");
  }
  return it->second(context);
}

}  // namespace backupy::drivers
