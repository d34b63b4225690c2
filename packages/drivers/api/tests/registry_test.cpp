#include "backupy/drivers/registry.hpp"

#include <gtest/gtest.h>

namespace backupy::drivers {
namespace {

class FixedDriver : public Driver {
 public:
  std::string probe() override { return "Fixed 1.0"; }
  void dump(stream::ByteSink& out, std::stop_token) override { out.write("x"); }
};

DumpContext context_for(backup::v1::DbType type) {
  DumpContext context;
  context.target.set_id("t1");
  context.target.set_type(type);
  return context;
}

TEST(DriverRegistry, CreatesTheRegisteredEngine) {
  DriverRegistry registry;
  registry.add(backup::v1::SQLITE,
               [](const DumpContext&) { return std::make_unique<FixedDriver>(); });
  EXPECT_TRUE(registry.supports(backup::v1::SQLITE));
  EXPECT_EQ(registry.create(context_for(backup::v1::SQLITE))->probe(), "Fixed 1.0");
}

TEST(DriverRegistry, UnknownEngineNamesTheEngineAndTarget) {
  DriverRegistry registry;
  EXPECT_FALSE(registry.supports(backup::v1::REDIS));
  try {
    registry.create(context_for(backup::v1::REDIS));
    FAIL() << "expected DriverError";
  } catch (const DriverError& e) {
    EXPECT_STREQ(e.what(), "no driver for redis in this agent build (target t1)");
  }
}

TEST(DriverRegistry, NamesEveryEngine) {
  EXPECT_EQ(db_type_name(backup::v1::POSTGRESQL), "postgresql");
  EXPECT_EQ(db_type_name(backup::v1::MARIADB), "mariadb");
  EXPECT_EQ(db_type_name(backup::v1::DB_UNSPECIFIED), "unspecified");
}

}  // namespace
}  // namespace backupy::drivers
