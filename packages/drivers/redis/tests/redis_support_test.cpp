// The SYNC payload parser and RDB verifier without a server: both payload
// forms fed in chunks of every size, and every way a payload can be broken.
#include "../src/redis_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backupy/drivers/driver.hpp"

namespace backupy::drivers::redis {
namespace {

std::span<const std::uint8_t> bytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// A well-formed RDB: magic, a body, EOF opcode, little-endian CRC64.
std::string make_rdb(const std::string& body, bool zero_checksum = false) {
  std::string rdb = "REDIS0010" + body + "\xff";
  const std::uint64_t crc = zero_checksum ? 0 : crc64(0, bytes(rdb));
  for (int i = 0; i < 8; ++i) rdb.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return rdb;
}

std::string body_of(std::size_t n) {
  std::string body;
  for (std::size_t i = 0; i < n; ++i) body.push_back(static_cast<char>((i * 131 + 7) % 256));
  return body;
}

const std::string kMark(40, 'a');

// Feeds payload in chunks of `chunk` bytes; returns what the parser passed on.
std::string parse(const std::string& payload, std::size_t chunk, bool expect_done = true) {
  std::string out;
  SyncPayloadParser parser([&](std::span<const std::uint8_t> d) {
    out.append(reinterpret_cast<const char*>(d.data()), d.size());
  });
  for (std::size_t at = 0; at < payload.size() && !parser.done(); at += chunk) {
    parser.feed(bytes(payload.substr(at, chunk)));
  }
  if (expect_done) {
    EXPECT_TRUE(parser.done());
  }
  parser.finish();
  return out;
}

std::string error_of(const std::string& payload, std::size_t chunk) {
  try {
    parse(payload, chunk, false);
  } catch (const DriverError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected DriverError";
  return {};
}

TEST(RedisCrc64, MatchesRedisTestVector) {
  EXPECT_EQ(crc64(0, bytes("123456789")), 0xe9c6d914c4b8d9caULL);
  // Incremental equals one-shot.
  EXPECT_EQ(crc64(crc64(0, bytes("1234")), bytes("56789")), 0xe9c6d914c4b8d9caULL);
}

TEST(RedisInfo, FieldsAreFound) {
  const std::string info = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n";
  EXPECT_EQ(info_field(info, "redis_version"), "7.0.15");
  EXPECT_EQ(info_field(info, "redis_mode"), "standalone");
  EXPECT_EQ(info_field(info, "absent"), "");
}

TEST(RedisSyncPayload, LengthFormInAnyChunkSize) {
  const std::string rdb = make_rdb(body_of(5000));
  const std::string payload =
      "\n\n\n$" + std::to_string(rdb.size()) + "\r\n" + rdb + "*1\r\n$4\r\nPING\r\n";
  for (std::size_t chunk : {1, 2, 3, 7, 8, 9, 40, 41, 64, 1000, 100000}) {
    EXPECT_EQ(parse(payload, chunk), rdb) << chunk;
  }
}

TEST(RedisSyncPayload, DisklessFormNeverPassesTheMarkOn) {
  const std::string rdb = make_rdb(body_of(5000));
  const std::string payload = "\n\n$EOF:" + kMark + "\r\n" + rdb + kMark;
  for (std::size_t chunk : {1, 2, 3, 7, 39, 40, 41, 48, 1000, 100000}) {
    EXPECT_EQ(parse(payload, chunk), rdb) << chunk;
  }
}

TEST(RedisSyncPayload, FullResyncLineIsSkippedAndZeroChecksumAccepted) {
  const std::string rdb = make_rdb("body", true);
  EXPECT_EQ(parse("+FULLRESYNC abc 0\r\n$" + std::to_string(rdb.size()) + "\r\n" + rdb, 5), rdb);
}

TEST(RedisSyncPayload, CorruptedChecksumIsRejected) {
  std::string rdb = make_rdb(body_of(300));
  rdb[100] = static_cast<char>(rdb[100] ^ 1);
  EXPECT_NE(error_of("$" + std::to_string(rdb.size()) + "\r\n" + rdb, 17).find("CRC64"),
            std::string::npos);
  EXPECT_NE(error_of("$EOF:" + kMark + "\r\n" + rdb + kMark, 17).find("CRC64"), std::string::npos);
}

TEST(RedisSyncPayload, MissingEofOpcodeIsRejected) {
  std::string rdb = make_rdb(body_of(300));
  rdb[rdb.size() - 9] = 0x00;
  const std::string message = error_of("$" + std::to_string(rdb.size()) + "\r\n" + rdb, 64);
  EXPECT_NE(message.find("EOF opcode"), std::string::npos) << message;
}

TEST(RedisSyncPayload, TruncationIsRejectedInBothForms) {
  const std::string rdb = make_rdb(body_of(300));
  const std::string cut = rdb.substr(0, 200);
  EXPECT_NE(error_of("$" + std::to_string(rdb.size()) + "\r\n" + cut, 10).find("truncated"),
            std::string::npos);
  EXPECT_NE(error_of("$EOF:" + kMark + "\r\n" + cut, 10).find("truncated"), std::string::npos);
  EXPECT_NE(error_of("\n\n", 1).find("closed before"), std::string::npos);
}

TEST(RedisSyncPayload, WrongMagicAndErrorRepliesAreRejected) {
  std::string rdb = make_rdb("x");
  rdb[0] = 'X';
  EXPECT_NE(error_of("$" + std::to_string(rdb.size()) + "\r\n" + rdb, 3).find("not an RDB"),
            std::string::npos);
  EXPECT_NE(error_of("-NOPERM this user has no permissions\r\n", 4).find("NOPERM"),
            std::string::npos);
  EXPECT_NE(error_of("*3\r\n", 4).find("unexpected reply"), std::string::npos);
}

}  // namespace
}  // namespace backupy::drivers::redis
