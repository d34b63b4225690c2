#include "backupy/docker/container_events.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

namespace backupy::docker {
namespace {

constexpr std::size_t kMaxLine = 1024 * 1024;

using Json = nlohmann::json;

std::string string_field(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string excerpt(std::string_view line) {
  std::string text(line.substr(0, 120));
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\r' || c == '\t'; }, ' ');
  return text;
}

}  // namespace

std::optional<ContainerEvent> parse_container_event(std::string_view line) {
  const Json event = Json::parse(line, nullptr, false);
  if (event.is_discarded() || !event.is_object()) {
    throw DockerError("event stream: a line is not a JSON object: " + excerpt(line));
  }
  // "Type"/"Action" since API 1.22; "status" alone before (container events only).
  const std::string type = event.contains("Type") ? string_field(event, "Type") : "container";
  std::string action = string_field(event, "Action");
  if (action.empty()) action = string_field(event, "status");
  if (type != "container" ||
      std::find(std::begin(kWatchedContainerActions), std::end(kWatchedContainerActions), action) ==
          std::end(kWatchedContainerActions)) {
    return std::nullopt;
  }
  std::string id;
  if (const auto actor = event.find("Actor"); actor != event.end() && actor->is_object()) {
    id = string_field(*actor, "ID");
  }
  if (id.empty()) id = string_field(event, "id");
  if (id.empty()) {
    throw DockerError("event stream: a container " + action +
                      " event without Actor.ID: " + excerpt(line));
  }
  return ContainerEvent{.action = std::move(action), .container_id = std::move(id)};
}

EventStreamParser::EventStreamParser(std::function<void(const ContainerEvent&)> on_event)
    : on_event_(std::move(on_event)) {}

void EventStreamParser::feed(std::string_view data) {
  while (!data.empty()) {
    const std::size_t lf = data.find('\n');
    const std::string_view piece = data.substr(0, lf);
    if (line_.size() + piece.size() > kMaxLine) {
      throw DockerError("event stream: a line longer than 1 MiB");
    }
    line_.append(piece);
    if (lf == std::string_view::npos) return;
    data.remove_prefix(lf + 1);
    std::string line = std::exchange(line_, {});
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (auto event = parse_container_event(line)) on_event_(*event);
  }
}

}  // namespace backupy::docker
