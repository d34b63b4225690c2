#include "backupy/wire/envelope_codec.hpp"

#include <google/protobuf/unknown_field_set.h>

#include <chrono>
#include <utility>

namespace backupy::wire {
namespace {

using Direction = bool (*)(Envelope::PayloadCase);

// The lowest unknown field number inside the oneof's tag space (10-99), or 0.
int unknown_payload_tag(const Envelope& envelope) {
  const auto& unknown = envelope.GetReflection()->GetUnknownFields(envelope);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const int number = unknown.field(i).number();
    if (number >= 10 && number <= 99) return number;
  }
  return 0;
}

std::variant<Envelope, Rejected> decode(std::string_view frame, Direction expected,
                                        std::string_view sender) {
  Envelope envelope;
  if (!envelope.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return Rejected{Rejected::Kind::malformed, "malformed frame: not a valid backup.v1.Envelope (" +
                                                   std::to_string(frame.size()) + " bytes)"};
  }
  const auto payload = envelope.payload_case();
  if (payload == Envelope::PAYLOAD_NOT_SET) {
    if (const int tag = unknown_payload_tag(envelope); tag != 0) {
      return Rejected{Rejected::Kind::unknown_member,
                      "unknown payload member " + std::to_string(tag) + " (sent by a newer peer?)",
                      std::move(envelope)};
    }
    return Rejected{Rejected::Kind::empty, "envelope without a payload", std::move(envelope)};
  }
  if (!expected(payload)) {
    return Rejected{Rejected::Kind::wrong_direction,
                    std::string(payload_name(payload)) + " (tag " +
                        std::to_string(static_cast<int>(payload)) + ") is not a message a " +
                        std::string(sender) + " may send",
                    std::move(envelope)};
  }
  return envelope;
}

}  // namespace

std::variant<Envelope, Rejected> decode_server_frame(std::string_view frame) {
  return decode(frame, &is_server_to_agent, "server");
}

std::variant<Envelope, Rejected> decode_agent_frame(std::string_view frame) {
  return decode(frame, &is_agent_to_server, "agent");
}

std::string EnvelopeStamper::encode(Envelope& envelope) {
  using namespace std::chrono;
  envelope.set_seq(++seq_);
  if (envelope.ts_ms() == 0) {
    envelope.set_ts_ms(static_cast<std::uint64_t>(
        duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count()));
  }
  return envelope.SerializeAsString();
}

}  // namespace backupy::wire
