#include "common/net.h"

#include <gtest/gtest.h>

namespace numflow::net {
namespace {

TEST(Net, Ipv4Networks) {
  const auto s = CidrSet::parse({"10.0.0.0/8", "192.0.2.7", "198.51.100.0/25"});
  EXPECT_TRUE(s.contains("10.1.2.3"));
  EXPECT_TRUE(s.contains("192.0.2.7"));
  EXPECT_FALSE(s.contains("192.0.2.8"));
  EXPECT_TRUE(s.contains("198.51.100.127"));
  EXPECT_FALSE(s.contains("198.51.100.128"));
  EXPECT_TRUE(s.contains("::ffff:10.9.9.9")) << "IPv4-mapped IPv6 is the same address";
  EXPECT_FALSE(s.contains("not an ip"));
  EXPECT_FALSE(s.contains(""));
}

TEST(Net, Ipv6Networks) {
  const auto s = CidrSet::parse({"2001:db8::/32", "::1"});
  EXPECT_TRUE(s.contains("2001:db8:ffff::1"));
  EXPECT_FALSE(s.contains("2001:db9::1"));
  EXPECT_TRUE(s.contains("::1"));
  EXPECT_FALSE(s.contains("10.0.0.1"));
}

TEST(Net, ZeroPrefixMatchesItsFamilyOnly) {
  EXPECT_TRUE(CidrSet::parse({"0.0.0.0/0"}).contains("203.0.113.9"));
  EXPECT_FALSE(CidrSet::parse({"0.0.0.0/0"}).contains("2001:db8::1"));
  EXPECT_TRUE(CidrSet::parse({"::/0"}).contains("2001:db8::1"));
}

TEST(Net, MalformedEntriesAreClearErrors) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "abc", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/8x"}) {
    try {
      CidrSet::parse({bad});
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace numflow::net
