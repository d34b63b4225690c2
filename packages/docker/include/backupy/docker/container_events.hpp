#pragma once
// The body of GET /events, parsed: the daemon writes one JSON EventMessage
// per line (Go's json.Encoder, a '\n' after each object) into a chunked
// response that never ends. Pure (no I/O), so tests feed it handcrafted and
// recorded-shape bytes in arbitrary pieces.
//
// An EventMessage (Engine API 1.43, "Monitor events"):
//   {"status":"start","id":"<id>","from":"postgres:16",          <- pre-1.22 fields, still sent
//    "Type":"container","Action":"start",
//    "Actor":{"ID":"<id>","Attributes":{"image":"postgres:16","name":"shop-db",...}},
//    "scope":"local","time":1700000000,"timeNano":1700000000000000000}
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "backupy/docker/engine_client.hpp"

namespace backupy::docker {

// The events discovery watches (the request's filter, checked again here).
inline constexpr std::string_view kWatchedContainerActions[] = {"start", "die", "destroy"};

// One line of the stream: the event if it is a watched container event,
// std::nullopt for any other valid event (another type or action, e.g.
// "exec_start: sh" from a daemon that ignored the filter). Throws DockerError
// for a line that is not a JSON object or a container event without an
// Actor.ID (or "id").
std::optional<ContainerEvent> parse_container_event(std::string_view line);

class EventStreamParser {
 public:
  explicit EventStreamParser(std::function<void(const ContainerEvent&)> on_event);
  // Consumes a piece of the body; calls on_event for each complete watched
  // event. Throws DockerError (from parse_container_event, or for a line
  // longer than 1 MiB: no event is that large).
  void feed(std::string_view data);

 private:
  std::function<void(const ContainerEvent&)> on_event_;
  std::string line_;  // the incomplete last line
};

}  // namespace backupy::docker
