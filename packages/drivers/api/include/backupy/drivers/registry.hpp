#pragma once
// Engine type -> driver factory. Filled once at start-up (drivers/builtin),
// read-only afterwards, so lookups need no locking.
#include <functional>
#include <map>
#include <memory>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers {

using DriverFactory = std::function<std::unique_ptr<Driver>(const DumpContext& context)>;

class DriverRegistry {
 public:
  // Replaces any factory registered for type.
  void add(backup::v1::DbType type, DriverFactory factory);
  bool supports(backup::v1::DbType type) const;
  // Throws DriverError "no driver for <engine> in this agent build" when the
  // type is not registered.
  std::unique_ptr<Driver> create(const DumpContext& context) const;

 private:
  std::map<backup::v1::DbType, DriverFactory> factories_;
};

}  // namespace backupy::drivers
