// The MongoDB driver's pure helpers: YAML quoting of the --config file, URI
// detection and redaction, mongodump's argv, the archive magic number.
#include "mongodb_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace backupy::drivers::mongodb {
namespace {

TEST(MongodbSupport, YamlSingleQuoteDoublesQuotesAndKeepsEverythingElseLiteral) {
  EXPECT_EQ(yaml_single_quote(""), "''");
  EXPECT_EQ(yaml_single_quote("plain"), "'plain'");
  EXPECT_EQ(yaml_single_quote("it's"), "'it''s'");
  EXPECT_EQ(yaml_single_quote("''"), "''''''");
  // No escapes in single-quoted YAML: these stay as they are.
  EXPECT_EQ(yaml_single_quote(R"(a\b"c#d: e- f%{g}*&h!|>)"), R"('a\b"c#d: e- f%{g}*&h!|>')");
  EXPECT_EQ(yaml_single_quote(" lead and trail "), "' lead and trail '");
  EXPECT_EQ(yaml_single_quote("tab\there"), "'tab\there'");
  EXPECT_EQ(yaml_single_quote("Zoë 日本 🙂"), "'Zoë 日本 🙂'");
}

TEST(MongodbSupport, YamlSingleQuoteRefusesLineBreaksAndControlCharacters) {
  EXPECT_FALSE(yaml_single_quote("a\nb"));
  EXPECT_FALSE(yaml_single_quote("a\rb"));
  EXPECT_FALSE(yaml_single_quote(std::string("a\0b", 3)));
  EXPECT_FALSE(yaml_single_quote("bell\a"));
  EXPECT_FALSE(yaml_single_quote("del\x7f"));
}

TEST(MongodbSupport, ConfigFileHasPasswordAndUriLines) {
  EXPECT_EQ(config_file_content("", ""), "");
  EXPECT_EQ(config_file_content("p'w", ""), "password: 'p''w'\n");
  EXPECT_EQ(config_file_content("pw", "mongodb://u:x@h/?tls=true"),
            "password: 'pw'\nuri: 'mongodb://u:x@h/?tls=true'\n");
  EXPECT_EQ(config_file_content("", "mongodb+srv://c.example.net"),
            "uri: 'mongodb+srv://c.example.net'\n");
}

TEST(MongodbSupport, ConnectionUriDetection) {
  EXPECT_TRUE(is_connection_uri("mongodb://localhost"));
  EXPECT_TRUE(is_connection_uri("mongodb+srv://cluster0.example.net/app"));
  EXPECT_FALSE(is_connection_uri("localhost"));
  EXPECT_FALSE(is_connection_uri("/tmp/mongodb-27017.sock"));
  EXPECT_FALSE(is_connection_uri("MONGODB://x"));
  EXPECT_FALSE(is_connection_uri("postgres://x"));
}

TEST(MongodbSupport, UriForMessagesKeepsOnlySchemeAndHosts) {
  EXPECT_EQ(uri_for_messages("mongodb://u:s3cret@db1:27017,db2:27018/app?replicaSet=rs0"),
            "mongodb://db1:27017,db2:27018");
  EXPECT_EQ(uri_for_messages("mongodb+srv://admin:p%40ss@cluster0.example.net/?tls=true"),
            "mongodb+srv://cluster0.example.net");
  EXPECT_EQ(uri_for_messages("mongodb://localhost"), "mongodb://localhost");
  // Options may carry secrets too.
  EXPECT_EQ(uri_for_messages("mongodb://h/?tlsCertificateKeyFilePassword=topsecret"),
            "mongodb://h");
  // An unescaped '@' or '/' in the password still ends up hidden.
  const std::string odd = "mongodb://u:p@ss/w0rd@h1:1/db";
  EXPECT_EQ(uri_for_messages(odd), "mongodb://h1:1");
  EXPECT_EQ(uri_for_messages("mongodb://%2Ftmp%2Fm.sock"), "mongodb://%2Ftmp%2Fm.sock");
}

TEST(MongodbSupport, UriPasswordIsFoundRawAndDecoded) {
  EXPECT_EQ(uri_password("mongodb://u:p%40ss%3Aw@h/db"), "p@ss:w");
  EXPECT_EQ(uri_password_raw("mongodb://u:p%40ss%3Aw@h/db"), "p%40ss%3Aw");
  EXPECT_EQ(uri_password("mongodb://u@h/db"), "");
  EXPECT_EQ(uri_password("mongodb://h/db"), "");
  EXPECT_EQ(uri_password("mongodb://u:p@ss/w0rd@h1:1/db"), "p@ss/w0rd");
  EXPECT_EQ(uri_username("mongodb://b%40ckup:p%40ss@h/db"), "b@ckup");
  EXPECT_EQ(uri_username("mongodb://u@h/db"), "u");
  EXPECT_EQ(uri_username("mongodb://h/db"), "");
}

TEST(MongodbSupport, PercentEncodingOfSocketPaths) {
  EXPECT_EQ(percent_encode("/tmp/mongodb-27017.sock"), "%2Ftmp%2Fmongodb-27017.sock");
  EXPECT_EQ(percent_decode("%2Ftmp%2Fmongodb-27017.sock"), "/tmp/mongodb-27017.sock");
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode(percent_encode("ä b/c%")), "ä b/c%");
}

TEST(MongodbSupport, ArchiveMagicIsLittleEndian0x8199e26d) {
  EXPECT_TRUE(has_archive_magic(std::string("\x6d\xe2\x99\x81", 4)));
  EXPECT_TRUE(has_archive_magic(std::string("\x6d\xe2\x99\x81\x00\x01", 6)));
  EXPECT_FALSE(has_archive_magic(std::string("\x81\x99\xe2\x6d", 4)));  // big-endian
  EXPECT_FALSE(has_archive_magic(std::string("\x6d\xe2\x99", 3)));
  EXPECT_FALSE(has_archive_magic(""));
  EXPECT_FALSE(has_archive_magic("PGDMP"));
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

TEST(MongodbSupport, ArgvForTcpWithUserAndDatabase) {
  DumpCommand c;
  c.tool = "/usr/bin/mongodump";
  c.config_path = "/work/x/backupy-mongodump.yaml";
  c.host = "db.example";
  c.port = 27018;
  c.username = "backup";
  c.auth_database = "admin";
  c.database = "app";
  EXPECT_EQ(mongodump_argv(c),
            (std::vector<std::string>{"/usr/bin/mongodump",
                                      "--config=/work/x/backupy-mongodump.yaml", "--archive",
                                      "--host=db.example", "--port=27018", "--username=backup",
                                      "--authenticationDatabase=admin", "--db=app"}));
}

TEST(MongodbSupport, ArgvForSocketWithoutUserOrDatabase) {
  DumpCommand c;
  c.tool = "mongodump";
  c.config_path = "/c.yaml";
  c.socket = true;
  c.host = "/tmp/mongodb-27017.sock";
  c.auth_database = "admin";
  EXPECT_EQ(mongodump_argv(c),
            (std::vector<std::string>{"mongodump", "--config=/c.yaml", "--archive",
                                      "--host=%2Ftmp%2Fmongodb-27017.sock"}));
}

TEST(MongodbSupport, ArgvForUriCarriesNoConnectionDetails) {
  DumpCommand c;
  c.tool = "mongodump";
  c.config_path = "/c.yaml";
  c.uri = true;
  c.host = "mongodb://u:secret@h:1/?authSource=other";
  c.username = "u";
  c.auth_database = "admin";
  c.database = "app";
  const auto argv = mongodump_argv(c);
  EXPECT_EQ(argv, (std::vector<std::string>{"mongodump", "--config=/c.yaml", "--archive",
                                            "--username=u", "--db=app"}));
  for (const auto& arg : argv) EXPECT_EQ(arg.find("secret"), std::string::npos) << arg;
  EXPECT_FALSE(has(argv, "--authenticationDatabase=admin"));
  EXPECT_FALSE(has(argv, "--gzip"));
}

TEST(MongodbSupport, ArgvInAContainerLeavesHostAndPortToTheTool) {
  DumpCommand c;
  c.tool = "mongodump";
  c.config_path = "/c.yaml";
  c.port = 0;
  c.database = "app";
  EXPECT_EQ(mongodump_argv(c),
            (std::vector<std::string>{"mongodump", "--config=/c.yaml", "--archive", "--db=app"}));
}

TEST(MongodbSupport, ContainerProbeLineIsParsed) {
  auto probe = parse_container_probe("Current Mongosh Log ID: x\nbackupy-probe 7.0.5 1 123456\n");
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->version, "7.0.5");
  EXPECT_EQ(probe->database_exists, true);
  EXPECT_EQ(probe->data_size, 123456u);
  probe = parse_container_probe("backupy-probe 6.0.12 0 -");
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->database_exists, false);
  EXPECT_FALSE(probe->data_size.has_value());
  probe = parse_container_probe("backupy-probe 6.0.12 - -\r\n");
  ASSERT_TRUE(probe.has_value());
  EXPECT_FALSE(probe->database_exists.has_value());
  EXPECT_FALSE(parse_container_probe("").has_value());
  EXPECT_FALSE(parse_container_probe("backupy-probe undefined - -").has_value());
  EXPECT_FALSE(parse_container_probe("backupy-probe 7.0.5 1").has_value());
}

TEST(MongodbSupport, ContainerScriptsKeepSecretsInTheEnvironment) {
  const std::string dump(container_dump_script());
  EXPECT_NE(dump.find("umask 077"), std::string::npos);
  EXPECT_NE(dump.find("unset MONGODUMP_CONFIG_YAML"), std::string::npos);
  EXPECT_NE(dump.find("trap 'rm -f \"$f\"' EXIT"), std::string::npos);
  EXPECT_NE(dump.find("mongodump --config=\"$f\" \"$@\""), std::string::npos);
  const std::string probe(container_probe_script());
  EXPECT_NE(probe.find("e.PROBE_PASSWORD"), std::string::npos);
  EXPECT_NE(probe.find("print('backupy-probe '"), std::string::npos);
}

}  // namespace
}  // namespace backupy::drivers::mongodb
