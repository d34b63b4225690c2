#pragma once
// The SQLite engine behind the Driver interface: ConnectionConfig.database is
// the path of the database file (host, port and credentials do not apply).
#include <memory>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

std::unique_ptr<Driver> make_sqlite_driver(const DumpContext& context);

}  // namespace backupy::drivers
