#pragma once
// Every engine compiled into this agent build, registered by type.
#include "backupy/drivers/registry.hpp"

namespace backupy::drivers {

DriverRegistry builtin_drivers();

}  // namespace backupy::drivers
