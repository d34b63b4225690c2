#include "backupy/net/proxy.hpp"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

namespace backupy::net {
namespace {

EnvLookup env(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    const auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProxyTest, NoVariablesMeansDirect) {
  EXPECT_FALSE(proxy_for("cp.example.com", env({})));
  EXPECT_FALSE(proxy_for("cp.example.com", env({{"HTTPS_PROXY", "  "}})));
}

TEST(ProxyTest, HttpsProxyWithPortAndCredentials) {
  const auto proxy =
      proxy_for("cp.example.com", env({{"HTTPS_PROXY", "http://us%40er:p%3Ass@Proxy.Corp:3128/"}}));
  ASSERT_TRUE(proxy);
  EXPECT_EQ(proxy->host, "proxy.corp");
  EXPECT_EQ(proxy->port, 3128);
  EXPECT_EQ(proxy->basic_credentials, "us@er:p:ss");
  EXPECT_EQ(proxy_authorization(*proxy), "Basic dXNAZXI6cDpzcw==");
}

TEST(ProxyTest, VariablePrecedence) {
  EXPECT_EQ(proxy_for("h", env({{"HTTPS_PROXY", "a:1"}, {"https_proxy", "b:1"}}))->host, "a");
  EXPECT_EQ(proxy_for("h", env({{"https_proxy", "b:1"}, {"ALL_PROXY", "c:1"}}))->host, "b");
  EXPECT_EQ(proxy_for("h", env({{"ALL_PROXY", "c:1"}, {"all_proxy", "d:1"}}))->host, "c");
  EXPECT_EQ(proxy_for("h", env({{"all_proxy", "d:1"}}))->host, "d");
  EXPECT_EQ(proxy_for("h", env({{"HTTPS_PROXY", ""}, {"https_proxy", "b:1"}}))->host, "b");
}

TEST(ProxyTest, DefaultsLikeCurl) {
  const auto proxy = proxy_for("h", env({{"HTTPS_PROXY", "proxy.corp"}}));
  ASSERT_TRUE(proxy);
  EXPECT_EQ(proxy->port, 1080);
  EXPECT_FALSE(proxy->basic_credentials);
  EXPECT_EQ(proxy_authorization(*proxy), "");
  EXPECT_EQ(proxy_for("h", env({{"HTTPS_PROXY", "http://[::1]"}}))->host, "::1");
  EXPECT_EQ(proxy_for("h", env({{"HTTPS_PROXY", "http://[::1]:8080"}}))->port, 8080);
  EXPECT_EQ(proxy_for("h", env({{"HTTPS_PROXY", "http://user@p:1"}}))->basic_credentials, "user:");
}

TEST(ProxyTest, NoProxyMatching) {
  const auto with = [](std::string no_proxy) {
    return env({{"HTTPS_PROXY", "http://p:3128"}, {"NO_PROXY", std::move(no_proxy)}});
  };
  EXPECT_FALSE(proxy_for("cp.example.com", with("cp.example.com")));
  EXPECT_FALSE(proxy_for("CP.Example.COM", with(" other.org , EXAMPLE.com ")));
  EXPECT_FALSE(proxy_for("cp.example.com", with(".example.com")));
  EXPECT_FALSE(proxy_for("cp.example.com", with("*.example.com")));
  EXPECT_FALSE(proxy_for("example.com", with(".example.com")));
  EXPECT_FALSE(proxy_for("cp.example.com", with("example.com:443")));
  EXPECT_FALSE(proxy_for("cp.example.com.", with("example.com")));
  EXPECT_TRUE(proxy_for("badexample.com", with("example.com")));
  EXPECT_TRUE(proxy_for("example.com.evil", with("example.com")));
  EXPECT_FALSE(proxy_for("anything", with("x, *")));
  EXPECT_TRUE(proxy_for("anything", with("*.")));
}

TEST(ProxyTest, NoProxyIpLiteralsMatchExactly) {
  const auto with = [](std::string no_proxy) {
    return env({{"HTTPS_PROXY", "http://p:3128"}, {"no_proxy", std::move(no_proxy)}});
  };
  EXPECT_FALSE(proxy_for("10.0.0.5", with("10.0.0.5")));
  EXPECT_FALSE(proxy_for("10.0.0.5", with("10.0.0.5:8443")));
  EXPECT_TRUE(proxy_for("110.0.0.5", with("10.0.0.5")));
  EXPECT_TRUE(proxy_for("10.0.0.5", with("0.0.5")));
  EXPECT_FALSE(proxy_for("::1", with("[::1]:443")));
  EXPECT_FALSE(proxy_for("0:0::1", with("::1")));
  EXPECT_TRUE(proxy_for("10.0.0.5", with("10.0.0.0/8")));  // CIDR is not supported
}

TEST(ProxyTest, UnusableProxyUrlsNameTheVariableButNotTheSecret) {
  const auto message = [](std::string variable, std::string value) -> std::string {
    try {
      proxy_for("h", env({{variable, value}}));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  EXPECT_EQ(message("HTTPS_PROXY", "https://u:s3cr3t@p:443"),
            "HTTPS_PROXY is not a usable proxy URL: https:// proxies (TLS to the proxy) are not "
            "supported; use http://");
  EXPECT_EQ(message("all_proxy", "socks5://u:s3cr3t@p:1080"),
            "all_proxy is not a usable proxy URL: only http:// proxies are supported (HTTP "
            "CONNECT)");
  EXPECT_EQ(message("https_proxy", "http://u:s3cr3t@p:99999"),
            "https_proxy is not a usable proxy URL: URL port 99999 is out of range (1-65535)");
  EXPECT_EQ(message("HTTPS_PROXY", "http://u:s3cr3t@"),
            "HTTPS_PROXY is not a usable proxy URL: URL has no host");
  EXPECT_EQ(message("HTTPS_PROXY", "http://u:s3%zzt@p:1"),
            "HTTPS_PROXY is not a usable proxy URL: bad percent-encoding in the credentials");
}

TEST(ProxyTest, BypassedProxyIsNotParsed) {
  EXPECT_FALSE(proxy_for("h", env({{"HTTPS_PROXY", "https://p"}, {"NO_PROXY", "h"}})));
}

}  // namespace
}  // namespace backupy::net
