#include "backupy/net/url.hpp"

#include <gtest/gtest.h>

namespace backupy::net {
namespace {

// The connect URL as a string, or "error: <message>".
std::string connect(std::string_view server, bool insecure = false) {
  std::string error;
  const std::optional<Url> url = agent_connect_url(server, insecure, &error);
  return url ? url->to_string() : "error: " + error;
}

TEST(UrlTest, ParsesSchemeHostPortAndTarget) {
  const auto url = parse_url("HTTPS://API.Example.com:8443/a/b?x=1#frag");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/a/b?x=1");
  EXPECT_TRUE(url->tls());
  EXPECT_EQ(url->host_header(), "api.example.com:8443");
}

TEST(UrlTest, DefaultPortsAndEmptyPath) {
  EXPECT_EQ(parse_url("wss://h")->port, 443);
  EXPECT_EQ(parse_url("https://h")->port, 443);
  EXPECT_EQ(parse_url("ws://h")->port, 80);
  EXPECT_EQ(parse_url("http://h")->port, 80);
  EXPECT_EQ(parse_url("http://h")->target, "/");
  EXPECT_EQ(parse_url("http://h?q=1")->target, "/?q=1");
  EXPECT_EQ(parse_url("https://h:443/")->host_header(), "h");
}

TEST(UrlTest, Ipv6Literals) {
  const auto url = parse_url("wss://[::1]:9443/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9443);
  EXPECT_EQ(url->host_header(), "[::1]:9443");
  EXPECT_EQ(parse_url("https://[2001:DB8::1]")->to_string(), "https://[2001:db8::1]/");
  std::string error;
  EXPECT_FALSE(parse_url("https://[::1", &error));
  EXPECT_EQ(error, "URL has an unterminated IPv6 '['");
  EXPECT_FALSE(parse_url("https://[nothex]/", &error));
  EXPECT_EQ(error, "URL host is not a valid IPv6 address");
  EXPECT_FALSE(parse_url("https://[::1]x/", &error));
}

TEST(UrlTest, PortsMustBeOneToSixtyFiveThousandFiveHundredThirtyFive) {
  EXPECT_EQ(parse_url("https://h:1")->port, 1);
  EXPECT_EQ(parse_url("https://h:65535")->port, 65535);
  std::string error;
  EXPECT_FALSE(parse_url("https://h:0", &error));
  EXPECT_EQ(error, "URL port 0 is out of range (1-65535)");
  EXPECT_FALSE(parse_url("https://h:65536", &error));
  EXPECT_EQ(error, "URL port 65536 is out of range (1-65535)");
  EXPECT_FALSE(parse_url("https://h:12a", &error));
  EXPECT_EQ(error, "URL port is not a number between 1 and 65535");
  EXPECT_FALSE(parse_url("https://h:/", &error));
  EXPECT_EQ(error, "URL has an empty port after ':'");
  EXPECT_FALSE(parse_url("https://h:1234567", &error));
}

TEST(UrlTest, RejectsUserinfoBadHostsAndUnknownSchemes) {
  std::string error;
  EXPECT_FALSE(parse_url("https://user:secret@h/", &error));
  EXPECT_EQ(error, "credentials in the URL are not supported (user:password@host)");
  EXPECT_EQ(error.find("secret"), std::string::npos);
  EXPECT_FALSE(parse_url("https:///path", &error));
  EXPECT_EQ(error, "URL has no host");
  EXPECT_FALSE(parse_url("https://ho%73t/", &error));
  EXPECT_FALSE(parse_url("https://h ost/", &error));
  EXPECT_EQ(error, "URL contains whitespace or control characters");
  EXPECT_FALSE(parse_url("ftp://h/", &error));
  EXPECT_EQ(error, "unsupported URL scheme 'ftp' (expected http, https, ws or wss)");
  EXPECT_FALSE(parse_url("h:443", &error));
  EXPECT_EQ(error, "URL has no scheme (expected e.g. https://host)");
}

TEST(AgentConnectUrlTest, HttpsBecomesWssWithTheContractPath) {
  EXPECT_EQ(connect("https://cp.example.com"), "wss://cp.example.com/v1/agents/connect");
  EXPECT_EQ(connect("https://cp.example.com/"), "wss://cp.example.com/v1/agents/connect");
  EXPECT_EQ(connect("https://cp.example.com:8443"), "wss://cp.example.com:8443/v1/agents/connect");
}

TEST(AgentConnectUrlTest, PrefixIsKeptAndSuffixNotDoubled) {
  EXPECT_EQ(connect("https://h/backupy"), "wss://h/backupy/v1/agents/connect");
  EXPECT_EQ(connect("https://h/backupy///"), "wss://h/backupy/v1/agents/connect");
  EXPECT_EQ(connect("https://h/backupy/v1/agents/connect"), "wss://h/backupy/v1/agents/connect");
  EXPECT_EQ(connect("https://h/v1/agents/connect/"), "wss://h/v1/agents/connect");
}

TEST(AgentConnectUrlTest, WebSocketSchemesAreAcceptedAsTheyAre) {
  EXPECT_EQ(connect("wss://h"), "wss://h/v1/agents/connect");
  EXPECT_EQ(connect("WSS://h/v1/agents/connect"), "wss://h/v1/agents/connect");
  EXPECT_EQ(connect("wss://[::1]:9443/p"), "wss://[::1]:9443/p/v1/agents/connect");
}

TEST(AgentConnectUrlTest, InsecureSchemesNeedTheDevSwitch) {
  const std::string refused = connect("http://h");
  EXPECT_EQ(refused,
            "error: insecure server URL scheme 'http://' refused: use https:// (or set "
            "BACKUPY_DEV_ALLOW_INSECURE=true for local development)");
  EXPECT_NE(connect("ws://h").find("BACKUPY_DEV_ALLOW_INSECURE=true"), std::string::npos);
  EXPECT_EQ(connect("http://h:8080/p", true), "ws://h:8080/p/v1/agents/connect");
  EXPECT_EQ(connect("ws://h", true), "ws://h/v1/agents/connect");
}

TEST(AgentConnectUrlTest, OtherSchemesAreRefusedPrecisely) {
  EXPECT_EQ(connect("ftp://h"),
            "error: unsupported server URL scheme 'ftp://' (expected https:// or wss://)");
  EXPECT_EQ(connect("cp.example.com"), "error: server URL must start with https:// (or wss://)");
  EXPECT_EQ(connect("tok=abc://h"),
            "error: server URL has an invalid scheme (expected https:// or wss://)");
}

TEST(AgentConnectUrlTest, QueryIsDroppedAndNeverEchoed) {
  EXPECT_EQ(connect("https://h/p?token=s3cr3t"), "wss://h/p/v1/agents/connect");
  for (const char* bad : {"https://h:99999/?token=s3cr3t", "ftp://h/?token=s3cr3t",
                          "http://h/?token=s3cr3t", "https://u:s3cr3t@h/"}) {
    const std::string result = connect(bad);
    EXPECT_TRUE(result.starts_with("error: ")) << result;
    EXPECT_EQ(result.find("s3cr3t"), std::string::npos) << result;
  }
  EXPECT_EQ(connect("https://h:0/"),
            "error: invalid server URL: URL port 0 is out of range (1-65535)");
}

}  // namespace
}  // namespace backupy::net
