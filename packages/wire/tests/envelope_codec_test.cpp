#include "backupy/wire/envelope_codec.hpp"

#include <gtest/gtest.h>

namespace backupy::wire {
namespace {

std::string encode_field(int tag, std::string_view body) {
  // Length-delimited field: key varint, length byte, bytes (body < 128).
  std::string out;
  for (unsigned key = static_cast<unsigned>(tag << 3 | 2);; key >>= 7) {
    if (key < 0x80) {
      out += static_cast<char>(key);
      break;
    }
    out += static_cast<char>((key & 0x7f) | 0x80);
  }
  out += static_cast<char>(body.size());
  out += body;
  return out;
}

TEST(EnvelopeCodecTest, DecodesServerMessages) {
  Envelope ping;
  ping.set_correlation_id("p-1");
  ping.mutable_ping()->set_ts_ms(42);
  const auto decoded = decode_server_frame(ping.SerializeAsString());
  ASSERT_TRUE(std::holds_alternative<Envelope>(decoded));
  EXPECT_EQ(std::get<Envelope>(decoded).ping().ts_ms(), 42u);
  EXPECT_EQ(std::get<Envelope>(decoded).correlation_id(), "p-1");
}

TEST(EnvelopeCodecTest, RejectsGarbageAsMalformed) {
  const auto decoded = decode_server_frame(std::string("\xff\xff\xff\xff\x0f", 5));
  ASSERT_TRUE(std::holds_alternative<Rejected>(decoded));
  EXPECT_EQ(std::get<Rejected>(decoded).kind, Rejected::Kind::malformed);
  EXPECT_NE(std::get<Rejected>(decoded).reason.find("malformed frame"), std::string::npos);
}

TEST(EnvelopeCodecTest, RejectsAgentMessagesComingFromTheServer) {
  Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_config_version(1);
  const auto decoded = decode_server_frame(heartbeat.SerializeAsString());
  ASSERT_TRUE(std::holds_alternative<Rejected>(decoded));
  EXPECT_EQ(std::get<Rejected>(decoded).kind, Rejected::Kind::wrong_direction);
  EXPECT_EQ(std::get<Rejected>(decoded).reason,
            "heartbeat (tag 11) is not a message a server may send");
}

TEST(EnvelopeCodecTest, ReportsUnknownOneofMembersByTag) {
  const auto decoded = decode_server_frame(encode_field(77, "x"));
  ASSERT_TRUE(std::holds_alternative<Rejected>(decoded));
  EXPECT_EQ(std::get<Rejected>(decoded).kind, Rejected::Kind::unknown_member);
  EXPECT_NE(std::get<Rejected>(decoded).reason.find("77"), std::string::npos);
}

TEST(EnvelopeCodecTest, EmptyEnvelopeIsRejected) {
  const auto decoded = decode_server_frame("");
  ASSERT_TRUE(std::holds_alternative<Rejected>(decoded));
  EXPECT_EQ(std::get<Rejected>(decoded).kind, Rejected::Kind::empty);
}

TEST(EnvelopeCodecTest, AgentFramesAcceptAgentMessagesOnly) {
  Envelope reg;
  reg.mutable_register_()->set_agent_version("1.0");
  EXPECT_TRUE(std::holds_alternative<Envelope>(decode_agent_frame(reg.SerializeAsString())));
  Envelope ack;
  ack.mutable_register_ack()->set_session_id("s");
  EXPECT_TRUE(std::holds_alternative<Rejected>(decode_agent_frame(ack.SerializeAsString())));
}

TEST(EnvelopeCodecTest, RejectionsKeepTheParsedEnvelopeUnlessMalformed) {
  Envelope ack;
  ack.set_seq(7);
  ack.set_outbox_seq(3);
  ack.mutable_register_ack()->set_session_id("s");
  const auto wrong = decode_agent_frame(ack.SerializeAsString());
  ASSERT_TRUE(std::holds_alternative<Rejected>(wrong));
  const Rejected& rejected = std::get<Rejected>(wrong);
  EXPECT_EQ(rejected.kind, Rejected::Kind::wrong_direction);
  ASSERT_TRUE(rejected.envelope.has_value());
  EXPECT_EQ(rejected.envelope->seq(), 7u);
  EXPECT_EQ(rejected.envelope->outbox_seq(), 3u);
  EXPECT_EQ(rejected.envelope->payload_case(), Envelope::kRegisterAck);

  const auto unknown = decode_agent_frame(encode_field(77, "x"));
  ASSERT_TRUE(std::holds_alternative<Rejected>(unknown));
  ASSERT_TRUE(std::get<Rejected>(unknown).envelope.has_value());
  EXPECT_EQ(std::get<Rejected>(unknown).envelope->payload_case(), Envelope::PAYLOAD_NOT_SET);

  const auto empty = decode_agent_frame("");
  ASSERT_TRUE(std::holds_alternative<Rejected>(empty));
  EXPECT_TRUE(std::get<Rejected>(empty).envelope.has_value());

  const auto malformed = decode_agent_frame(std::string("\xff\xff\xff\xff", 4));
  ASSERT_TRUE(std::holds_alternative<Rejected>(malformed));
  EXPECT_EQ(std::get<Rejected>(malformed).kind, Rejected::Kind::malformed);
  EXPECT_FALSE(std::get<Rejected>(malformed).envelope.has_value());
}

TEST(EnvelopeCodecTest, StamperNumbersFramesMonotonicallyAndKeepsExplicitTimestamps) {
  EnvelopeStamper stamper;
  Envelope a;
  a.mutable_heartbeat();
  Envelope b;
  b.mutable_heartbeat();
  b.set_ts_ms(1234);
  Envelope decoded_a, decoded_b;
  ASSERT_TRUE(decoded_a.ParseFromString(stamper.encode(a)));
  ASSERT_TRUE(decoded_b.ParseFromString(stamper.encode(b)));
  EXPECT_EQ(decoded_a.seq(), 1u);
  EXPECT_EQ(decoded_b.seq(), 2u);
  EXPECT_GT(decoded_a.ts_ms(), 1600000000000u);
  EXPECT_EQ(decoded_b.ts_ms(), 1234u);
}

TEST(EnvelopeCodecTest, ContractFieldNumbersAreStable) {
  // Wire compatibility: a RegisterAck (50) with server_capabilities (5) and an
  // Envelope.outbox_seq (4) must encode to exactly these bytes.
  Envelope env;
  env.set_outbox_seq(1);
  env.mutable_register_ack()->add_server_capabilities("x");
  const std::string bytes = env.SerializeAsString();
  EXPECT_EQ(bytes, std::string("\x20\x01\x92\x03\x03\x2a\x01x", 8));
  Envelope delivery;
  delivery.mutable_delivery_ack()->set_through_outbox_seq(5);
  EXPECT_EQ(delivery.SerializeAsString(), std::string("\xd2\x03\x02\x08\x05", 5));
}

}  // namespace
}  // namespace backupy::wire
