// The event-stream parser with handcrafted bytes in the shape dockerd writes
// (one EventMessage per line), split at arbitrary places.
#include "backupy/docker/container_events.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace backupy::docker {
namespace {

// An EventMessage as dockerd 24 sends it (API 1.43).
const std::string kStart =
    R"({"status":"start","id":"a942b37ccfaf","from":"postgres:16-alpine","Type":"container",)"
    R"("Action":"start","Actor":{"ID":"a942b37ccfaf","Attributes":{"image":"postgres:16-alpine",)"
    R"("name":"shop-db"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789})";
const std::string kDie =
    R"({"status":"die","id":"e08f4c9c","from":"mariadb:11.2","Type":"container","Action":"die",)"
    R"("Actor":{"ID":"e08f4c9c","Attributes":{"exitCode":"0","name":"wiki-mariadb"}},)"
    R"("scope":"local","time":1700000001,"timeNano":1700000001000000000})";

std::vector<ContainerEvent> feed_in_pieces(const std::string& stream, std::size_t piece) {
  std::vector<ContainerEvent> events;
  EventStreamParser parser([&](const ContainerEvent& e) { events.push_back(e); });
  for (std::size_t i = 0; i < stream.size(); i += piece) parser.feed(stream.substr(i, piece));
  return events;
}

TEST(ContainerEventsTest, ParsesActionAndActorId) {
  const auto event = parse_container_event(kStart);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->action, "start");
  EXPECT_EQ(event->container_id, "a942b37ccfaf");
}

TEST(ContainerEventsTest, OldDaemonsStatusAndIdAreEnough) {
  // API < 1.22: no Type/Action/Actor.
  const auto event = parse_container_event(R"({"status":"destroy","id":"abc","time":1})");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->action, "destroy");
  EXPECT_EQ(event->container_id, "abc");
}

TEST(ContainerEventsTest, OtherTypesAndActionsAreIgnored) {
  EXPECT_FALSE(parse_container_event(
      R"({"Type":"network","Action":"connect","Actor":{"ID":"n1","Attributes":{}}})"));
  EXPECT_FALSE(parse_container_event(
      R"({"Type":"container","Action":"exec_start: sh","Actor":{"ID":"c1"}})"));
}

TEST(ContainerEventsTest, MalformedLinesAreErrors) {
  EXPECT_THROW(parse_container_event("not json"), DockerError);
  EXPECT_THROW(parse_container_event("[1,2]"), DockerError);
  try {
    parse_container_event(R"({"Type":"container","Action":"start","Actor":{}})");
    ADD_FAILURE() << "expected DockerError";
  } catch (const DockerError& e) {
    EXPECT_NE(std::string(e.what()).find("container start event without Actor.ID"),
              std::string::npos)
        << e.what();
  }
}

TEST(ContainerEventsTest, SplitsTheStreamAtAnyPieceSize) {
  const std::string stream = kStart + "\n" + kDie + "\n";
  for (std::size_t piece : {1u, 2u, 7u, 64u, 10000u}) {
    const auto events = feed_in_pieces(stream, piece);
    ASSERT_EQ(events.size(), 2u) << piece;
    EXPECT_EQ(events[0].action, "start");
    EXPECT_EQ(events[1].action, "die");
    EXPECT_EQ(events[1].container_id, "e08f4c9c");
  }
}

TEST(ContainerEventsTest, AnIncompleteLineWaitsForItsNewline) {
  std::vector<ContainerEvent> events;
  EventStreamParser parser([&](const ContainerEvent& e) { events.push_back(e); });
  parser.feed(kStart);
  EXPECT_TRUE(events.empty());
  parser.feed("\r\n\n");  // CRLF and blank lines are tolerated
  EXPECT_EQ(events.size(), 1u);
}

TEST(ContainerEventsTest, AnEndlessLineIsRefused) {
  EventStreamParser parser([](const ContainerEvent&) {});
  const std::string megabyte(1024 * 1024, 'x');
  EXPECT_THROW(
      {
        parser.feed(megabyte);
        parser.feed("x");
      },
      DockerError);
}

}  // namespace
}  // namespace backupy::docker
