// The PostgreSQL driver's pure helpers: pgpass escaping, version parsing,
// choosing pg_dump.
#include "../src/postgres_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers::postgres {
namespace {

TEST(PostgresSupport, PgpassEscapesBackslashAndColonOnly) {
  EXPECT_EQ(pgpass_escape("plain"), "plain");
  EXPECT_EQ(pgpass_escape(R"(a:b\c)"), R"(a\:b\\c)");
  EXPECT_EQ(pgpass_escape("sp ace*'\""), "sp ace*'\"");
}

TEST(PostgresSupport, ServerVersionLosesTheDistributionSuffix) {
  EXPECT_EQ(strip_version_suffix("15.8 (Debian 15.8-0+deb12u1)"), "15.8");
  EXPECT_EQ(strip_version_suffix("16.2"), "16.2");
  EXPECT_EQ(strip_version_suffix("17beta1"), "17beta1");
}

TEST(PostgresSupport, ParsesPgDumpVersionOutput) {
  EXPECT_EQ(parse_pg_dump_version("pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)\n"),
            std::optional<std::string>("15.8"));
  EXPECT_EQ(parse_pg_dump_version("pg_dump (PostgreSQL) 16.2\n"),
            std::optional<std::string>("16.2"));
  EXPECT_EQ(parse_pg_dump_version("something else"), std::nullopt);
}

TEST(PostgresSupport, MajorVersionsCompareAcrossTheTenBoundary) {
  EXPECT_EQ(major_of("15.8"), 1500);
  EXPECT_EQ(major_of("16beta1"), 1600);
  EXPECT_EQ(major_of("9.6.24"), 906);
  EXPECT_EQ(major_of("x"), std::nullopt);
  EXPECT_EQ(server_major(150008), 1500);
  EXPECT_EQ(server_major(160002), 1600);
  EXPECT_EQ(server_major(90624), 906);
  EXPECT_EQ(major_text(1600), "16");
  EXPECT_EQ(major_text(906), "9.6");
  EXPECT_LT(*major_of("15.8"), server_major(160002));
}

TEST(PostgresSupport, ConninfoQuoting) {
  EXPECT_EQ(conninfo_quote("app"), "'app'");
  EXPECT_EQ(conninfo_quote(R"(a'b\c host=x)"), R"('a\'b\\c host=x')");
}

void make_executable(const std::filesystem::path& path) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << "#!/bin/sh\n";
  ::chmod(path.c_str(), 0755);
}

TEST(PostgresSupport, PrefersTheNewestInstalledPgDump) {
  test_support::TempDir dir;
  EXPECT_EQ(newest_pg_dump(dir.path()), std::nullopt);
  EXPECT_EQ(newest_pg_dump(dir.path() / "absent"), std::nullopt);
  make_executable(dir.path() / "9.6/bin/pg_dump");
  make_executable(dir.path() / "15/bin/pg_dump");
  make_executable(dir.path() / "16/bin/pg_dump");
  std::filesystem::create_directories(dir.path() / "17/bin");  // no pg_dump in it
  std::filesystem::create_directories(dir.path() / "common");
  EXPECT_EQ(newest_pg_dump(dir.path()), dir.path() / "16/bin/pg_dump");
}

}  // namespace
}  // namespace backupy::drivers::postgres
