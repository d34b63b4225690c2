// Pure helpers of the MySQL/MariaDB driver.
#include "../src/mysql_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace backupy::drivers::mysql {
namespace {

TEST(MysqlSupport, VersionTextStripsDistributionSuffixes) {
  EXPECT_EQ(server_version_text("10.11.6-MariaDB-0+deb12u1", "Debian 12"), "MariaDB 10.11.6");
  EXPECT_EQ(server_version_text("10.11.6-MariaDB", "MariaDB Server"), "MariaDB 10.11.6");
  EXPECT_EQ(server_version_text("5.5.5-10.6.12-MariaDB-log", ""), "MariaDB 10.6.12");
  EXPECT_EQ(server_version_text("11.4.2", "MariaDB Server"), "MariaDB 11.4.2");
  EXPECT_EQ(server_version_text("8.0.36", "MySQL Community Server - GPL"), "MySQL 8.0.36");
  EXPECT_EQ(server_version_text("8.0.36-0ubuntu0.22.04.1", "(Ubuntu)"), "MySQL 8.0.36");
  EXPECT_TRUE(is_mariadb("10.11.6-MariaDB-0+deb12u1", ""));
  EXPECT_FALSE(is_mariadb("8.0.36", "MySQL Community Server - GPL"));
}

TEST(MysqlSupport, OptionFileQuoteEscapesQuotesBackslashesAndLineBreaks) {
  EXPECT_EQ(option_file_quote("plain"), "\"plain\"");
  EXPECT_EQ(option_file_quote("a\"b\\c#d;e"), "\"a\\\"b\\\\c#d;e\"");
  EXPECT_EQ(option_file_quote("x\ny\r\tz"), "\"x\\ny\\r\\tz\"");
}

TEST(MysqlSupport, TailRingKeepsTheNewestBytes) {
  TailRing ring(8);
  ring.append(std::string_view("abc"));
  ring.append(std::string_view("defghij"));
  EXPECT_EQ(ring.text(), "cdefghij");
  ring.append(std::string_view("0123456789"));
  EXPECT_EQ(ring.text(), "23456789");
}

TEST(MysqlSupport, TrailerMustBeTheLastLine) {
  EXPECT_TRUE(ends_with_dump_trailer("...;\n\n-- Dump completed on 2026-11-22  8:30:01\n"));
  EXPECT_TRUE(ends_with_dump_trailer("x\n-- Dump completed\n"));
  EXPECT_FALSE(ends_with_dump_trailer("-- Dump completed\nINSERT INTO t VALUES (1);\n"));
  EXPECT_FALSE(ends_with_dump_trailer("INSERT INTO t VALUES (1);\n"));
  EXPECT_FALSE(ends_with_dump_trailer(""));
  EXPECT_FALSE(ends_with_dump_trailer("/*M!999999\\- enable the sandbox mode */\n"));
}

}  // namespace
}  // namespace backupy::drivers::mysql
