#include "backupy/drivers/builtin.hpp"

#include "backupy/drivers/mongodb_driver.hpp"
#include "backupy/drivers/mysql_driver.hpp"
#include "backupy/drivers/postgres_driver.hpp"
#include "backupy/drivers/redis_driver.hpp"
#include "backupy/drivers/sqlite_driver.hpp"

namespace backupy::drivers {

// One line per engine: adding an engine means adding its folder and its line.
DriverRegistry builtin_drivers() {
  DriverRegistry registry;
  registry.add(backup::v1::SQLITE, make_sqlite_driver);
  registry.add(backup::v1::POSTGRESQL, make_postgres_driver);
  registry.add(backup::v1::MYSQL, make_mysql_driver);
  registry.add(backup::v1::MARIADB, make_mysql_driver);
  registry.add(backup::v1::REDIS, make_redis_driver);
  registry.add(backup::v1::MONGODB, make_mongodb_driver);
  return registry;
}

}  // namespace backupy::drivers
